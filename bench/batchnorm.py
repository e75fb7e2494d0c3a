#!/usr/bin/env python3
"""Batch normalization's cost (issues 24 and 28): ``python bench/batchnorm.py [--reps N]
[--m M] [--threads T]``.

One W2 epoch (``bench/run.py``'s workload: M x 784 synthetic float32 inputs, [784, 256, 128,
10] relu + softmax, Adam, batch 128) trained by ``nnctl train`` as a whole process, with and
without ``batch_norm: true`` (both hidden layers), interleaved round after round; per dtype the
median of the training loop's own seconds (summary.json's ``seconds``) and their ratio. Prints
the table and writes ``bench/batchnorm_results.json``; docs/developers/performance.md reports a
run. It asserts nothing about time.

Also, in this process on one BLAS thread, one W2 training step (``cost_and_gradients`` with the
optimizer's gradient buffer, Adam's step, and with batch normalization the running averages)
with and without batch normalization: blocks of 10 steps alternating, ``--rounds`` blocks
each, the median block's time per step. Less noisy than whole epochs on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import atomic_write_json, machine, nnctl_cmd, run_process, w2_config_text

RESULTS = Path(__file__).resolve().parent / "batchnorm_results.json"


def step_times(dtype: str, rounds: int) -> dict:
    """Seconds per W2 step, plain and batch-normalized, interleaved (see the docstring)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from nnctl.config import resolve
    from nnctl.core import cost_and_gradients, update_running
    from nnctl.training import TrainState

    rng = np.random.default_rng(0)
    X = rng.standard_normal((784, 128)).astype(dtype)
    T = np.zeros((10, 128), dtype)
    T[rng.integers(0, 10, 128), np.arange(128)] = 1
    raw = {
        "dataset": {"synthetic": "moons"},
        "layer_dims": [784, 256, 128, 10],
        "activations": ["relu", "relu", "softmax"],
        "init": "he",
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 128,
        "epochs": 1,
        "dtype": dtype,
    }
    runs = {}
    for name, extra in (("plain", {}), ("batch_norm", {"batch_norm": True})):
        cfg = resolve({**raw, **extra}, "w2")
        runs[name] = (cfg.arch, TrainState.start(cfg))

    def block(name: str) -> float:
        arch, s = runs[name]
        bn = arch.batch_norm
        t = time.perf_counter()
        for _ in range(10):
            nc, dg = ([], []) if bn else (None, None)
            _, dWs, dbs = cost_and_gradients(
                s.params, X, T, arch, out=s.optimizer.grads, norm_cache=nc, dgammas=dg
            )
            s.optimizer.step(s.params, dWs, dbs, 0.001, dg)
            if bn:
                update_running(s.params.means, s.params.variances, nc, bn.momentum)
        return (time.perf_counter() - t) / 10

    times: dict[str, list[float]] = {k: [] for k in runs}
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(rounds):
            for name in runs:
                times[name].append(block(name))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "plain_s": med["plain"],
        "batch_norm_s": med["batch_norm"],
        "ratio": med["batch_norm"] / med["plain"],
    }


def w2_file(path: Path, m: int) -> Path:
    """W2's synthetic training file, m x 784 float32 and 10 classes, at ``path``."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["train_x"] = rng.standard_normal((m, 784), dtype=np.float32)
        f["train_y"] = rng.integers(0, 10, m)
        f["list_classes"] = np.array([str(k).encode() for k in range(10)])
    return path


def epoch_times(d: Path, data: Path, dtype: str, reps: int, threads: int) -> dict:
    """One-epoch ``nnctl train`` processes on ``data`` with and without ``batch_norm: true``,
    interleaved for ``reps`` rounds on ``threads`` BLAS threads: the medians of the training
    loop's seconds and their ratio. Raises SystemExit when a run fails."""
    times: dict[str, list[float]] = {"plain": [], "batch_norm": []}
    for _ in range(reps):
        for variant in times:
            cfg = d / f"{variant}_{dtype}.yaml"
            text = w2_config_text(dtype, 1, data)
            cfg.write_text(text + ("batch_norm: true\n" if variant != "plain" else ""))
            cmd = nnctl_cmd() + ["train", str(cfg), "--quiet", "--json"]
            cmd += ["--runs-dir", str(d / "runs"), "--threads", str(threads)]
            _, code, _, stdout, err = run_process(cmd)
            if code != 0:
                raise SystemExit(f"{variant} {dtype}: exit {code}: {err.strip()[-300:]}")
            times[variant].append(json.loads(stdout)["seconds"])
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "plain_s": med["plain"],
        "batch_norm_s": med["batch_norm"],
        "ratio": med["batch_norm"] / med["plain"],
        "times": times,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--m", type=int, default=60_000)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads of each run")
    ap.add_argument("--rounds", type=int, default=60, help="blocks of 10 steps, per variant")
    args = ap.parse_args(argv)

    out: dict = {"machine": machine(), "m": args.m, "reps": args.reps, "threads": args.threads}
    with tempfile.TemporaryDirectory() as d:
        data = w2_file(Path(d) / "w2.h5", args.m)
        for dtype in ("float32", "float64"):
            out[dtype] = epoch_times(Path(d), data, dtype, args.reps, args.threads)
            med = {k: out[dtype][k + "_s"] for k in ("plain", "batch_norm")}
            print(
                f"W2 {dtype} epoch loop: plain {med['plain']:.3f} s, batch_norm "
                f"{med['batch_norm']:.3f} s, ratio {out[dtype]['ratio']:.2f}x (target <= 1.3x)"
            )
            st = out[dtype]["step"] = step_times(dtype, args.rounds)
            print(
                f"W2 {dtype} step: plain {st['plain_s'] * 1e3:.2f} ms, batch_norm "
                f"{st['batch_norm_s'] * 1e3:.2f} ms, ratio {st['ratio']:.2f}x"
            )
    atomic_write_json(RESULTS, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
