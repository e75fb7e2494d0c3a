#!/usr/bin/env python3
"""Batch normalization's cost (issues 24 and 28): ``python bench/batchnorm.py [--reps N]
[--m M] [--threads T]``.

One W2 epoch (``bench/run.py``'s workload: M x 784 synthetic float32 inputs, [784, 256, 128,
10] relu + softmax, Adam, batch 128) trained by ``nnctl train`` as a whole process, with and
without ``batch_norm: true`` (both hidden layers), interleaved round after round; per dtype the
median of the training loop's own seconds (summary.json's ``seconds``) and their ratio. Prints
the table and writes ``bench/batchnorm_results.json``; docs/developers/performance.md reports a
run. It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import atomic_write_json, machine, nnctl_cmd, run_process, w2_config_text

RESULTS = Path(__file__).resolve().parent / "batchnorm_results.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--m", type=int, default=60_000)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads of each run")
    args = ap.parse_args(argv)

    import h5py
    import numpy as np

    out: dict = {"machine": machine(), "m": args.m, "reps": args.reps, "threads": args.threads}
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "w2.h5"
        rng = np.random.default_rng(0)
        with h5py.File(data, "w") as f:
            f["train_x"] = rng.standard_normal((args.m, 784), dtype=np.float32)
            f["train_y"] = rng.integers(0, 10, args.m)
            f["list_classes"] = np.array([str(k).encode() for k in range(10)])
        for dtype in ("float32", "float64"):
            times: dict[str, list[float]] = {"plain": [], "batch_norm": []}
            for _ in range(args.reps):
                for variant in times:
                    cfg = Path(d) / f"{variant}_{dtype}.yaml"
                    text = w2_config_text(dtype, 1, data)
                    cfg.write_text(text + ("batch_norm: true\n" if variant != "plain" else ""))
                    cmd = nnctl_cmd() + ["train", str(cfg), "--quiet", "--json"]
                    cmd += ["--runs-dir", str(Path(d) / "runs"), "--threads", str(args.threads)]
                    _, code, _, stdout, err = run_process(cmd)
                    if code != 0:
                        raise SystemExit(f"{variant} {dtype}: exit {code}: {err.strip()[-300:]}")
                    times[variant].append(json.loads(stdout)["seconds"])
            med = {k: statistics.median(v) for k, v in times.items()}
            out[dtype] = {
                "plain_s": med["plain"],
                "batch_norm_s": med["batch_norm"],
                "ratio": med["batch_norm"] / med["plain"],
                "times": times,
            }
            print(
                f"W2 {dtype} epoch loop: plain {med['plain']:.3f} s, batch_norm "
                f"{med['batch_norm']:.3f} s, ratio {out[dtype]['ratio']:.2f}x (target <= 1.3x)"
            )
    atomic_write_json(RESULTS, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
