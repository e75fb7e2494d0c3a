#!/usr/bin/env python3
"""The sweep benchmark: ``python bench/sweep.py [--quick]`` (needs the sweep extra).

Prints a table on stdout and writes ``bench/sweep_results.json`` (with the machine's load
average before and after: the numbers of a shared machine mean little without it).

  S0  the machine: two pure-Python CPU loops in 2 processes against the same two one after the
      other (no nnctl, no Dask). On a shared machine this says how much a second worker can
      gain at all: S1's ratio cannot be better than S0's.
  S1  scaling: a grid of 16 small trainings (spiral, [auto, 32, 32, 3], Adam, 500 epochs,
      ~0.5 s each) on a LocalCluster of 1 worker and of 2 workers, interleaved (1 2 1 2 ...),
      the median of the repetitions; time from the cluster being up to the last run written,
      and the whole ``run_sweep`` call with the cluster's start.
  S2  per-trial overhead: 20 tiny trainings (moons, [auto, 8, 1], 5 epochs) one after another
      with ``nnctl.commands.train.train_run`` in this process, and the same 20 as a 1-worker sweep
      (Optuna ask/tell, the Dask round trip, the client writing the run and the sweep's
      files); the difference per trial, the sweep's measured between its first and last trial
      back (no cluster start or shut-down).
  S3  client memory: 200 trials with 0.5 MB of parameters each ([auto, 256, 256, 1]) on 2
      workers; the client's RSS as trials finish (a client holding every trial's parameters
      would grow by ~100 MB).

Nothing is asserted: the targets (S1 <= 0.6, S2 < 50 ms) are reported next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "sweep_results.json"
sys.path.insert(0, str(ROOT))

SPIRAL = """\
dataset: {synthetic: spiral, m: 600, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 32, 32, 3]
activations: {hidden: relu, output: softmax}
init: he
optimizer: adam
learning_rate: 0.01
batch_size: 32
epochs: 500
validation_fraction: 0.2
print_every: 100000
"""

TINY = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.1
batch_size: 50
epochs: 5
validation_fraction: 0.2
print_every: 100000
"""

WIDE = TINY.replace("layer_dims: [auto, 8, 1]", "layer_dims: [auto, 256, 256, 1]").replace(
    "epochs: 5", "epochs: 1"
)


def _sweep(tmp: Path, name: str, base: str, body: str) -> Path:
    (tmp / f"{name}-base.yaml").write_text(base)
    f = tmp / f"{name}.yaml"
    f.write_text(f"config: {name}-base.yaml\nprune: false\n" + body)
    return f


def run(sweep_file: Path, runs_dir: Path, workers: int, on_done=None) -> dict:
    """One sweep in this process; seconds from the cluster being up to the end, and in all."""
    from nnctl.sweep import load_sweep, run_sweep, start_sweep

    marks: dict[str, float] = {}
    done: list[float] = []

    def on_event(e) -> None:
        if e.kind == "start":
            marks["up"] = time.perf_counter()
        elif e.kind == "done":
            done.append(time.perf_counter())
            if on_done is not None:
                on_done(e)

    t0 = time.perf_counter()
    sweep_dir = start_sweep(load_sweep(sweep_file), runs_dir)
    record = run_sweep(sweep_dir, runs_dir, workers=workers, on_event=on_event)
    end = time.perf_counter()
    assert record.status == "complete" and len(record.trials) == record.n_trials
    # seconds: the cluster up to the last trial back; steady: per trial between the first and
    # the last trial back (no start-up, no shut-down); with_start: the whole call
    return {
        "seconds": done[-1] - marks["up"],
        "steady_per_trial": (done[-1] - done[0]) / (len(done) - 1),
        "with_start": end - t0,
        "trials": len(record.trials),
        "statuses": sorted({t.status for t in record.trials}),
    }


def _burn(n: int) -> float:
    t, x = time.perf_counter(), 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t


def s0_machine(reps: int) -> dict:
    import multiprocessing as mp

    n = 3_000_000
    seq, par = [], []
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # started before timing
        for _ in range(reps):
            t = time.perf_counter()
            _burn(n)
            _burn(n)
            seq.append(time.perf_counter() - t)
            t = time.perf_counter()
            pool.map(_burn, [n, n])
            par.append(time.perf_counter() - t)
    return {
        "sequential_s": statistics.median(seq),
        "two_processes_s": statistics.median(par),
        "ratio": statistics.median(par) / statistics.median(seq),
    }


def s1_scaling(tmp: Path, reps: int) -> dict:
    f = _sweep(
        tmp,
        "s1",
        SPIRAL,
        "sampler: grid\nspace:\n  learning_rate: {choice: [0.003, 0.01, 0.03, 0.1]}\n"
        "  seed: {choice: [1, 2, 3, 4]}\n",
    )
    times: dict[int, list[dict]] = {1: [], 2: []}
    for rep in range(reps):
        for w in (1, 2):
            times[w].append(run(f, tmp / f"s1-runs-{w}-{rep}", w))
    med = {w: statistics.median(r["seconds"] for r in times[w]) for w in times}
    med_all = {w: statistics.median(r["with_start"] for r in times[w]) for w in times}
    return {
        "trials": 16,
        "reps": reps,
        "seconds_1_worker": med[1],
        "seconds_2_workers": med[2],
        "ratio": med[2] / med[1],
        "with_cluster_start_1": med_all[1],
        "with_cluster_start_2": med_all[2],
        "ratio_with_cluster_start": med_all[2] / med_all[1],
        "target_ratio": 0.6,
        "all_seconds": {str(w): [round(r["seconds"], 3) for r in times[w]] for w in times},
    }


def s2_overhead(tmp: Path, n: int) -> dict:
    from threadpoolctl import threadpool_limits

    from nnctl.commands import train_run
    from nnctl.config import parse_yaml, resolve

    rates = [0.01 * (1 + i) for i in range(n)]
    f = _sweep(
        tmp,
        "s2",
        TINY,
        f"sampler: grid\nspace:\n  learning_rate: {{choice: {json.dumps(rates)}}}\n",
    )
    direct = []
    with threadpool_limits(limits=1):
        for lr in rates:
            raw = parse_yaml(TINY, "tiny")
            raw["learning_rate"] = lr
            cfg = resolve(raw, "tiny", "tiny", str(tmp / "s2-base.yaml"))
            t = time.perf_counter()
            train_run(cfg, tmp / "s2-direct")
            direct.append(time.perf_counter() - t)
    swept = run(f, tmp / "s2-runs", 1)
    per_direct = statistics.mean(direct)
    per_sweep = swept["steady_per_trial"]
    return {
        "trials": n,
        "train_run_ms": per_direct * 1000,
        "sweep_ms_per_trial": per_sweep * 1000,
        "overhead_ms": (per_sweep - per_direct) * 1000,
        "target_ms": 50,
    }


def s3_memory(tmp: Path, n: int) -> dict:
    import psutil

    me = psutil.Process()
    rss: list[tuple[int, float]] = []
    f = _sweep(
        tmp,
        "s3",
        WIDE,
        f"sampler: random\nseed: 0\ntrials: {n}\nspace:\n"
        "  learning_rate: {log_uniform: [0.0001, 0.1]}\n",
    )
    rss.append((0, me.memory_info().rss / 2**20))
    r = run(
        f,
        tmp / "s3-runs",
        2,
        on_done=lambda e: rss.append((len(e.record.trials), me.memory_info().rss / 2**20)),
    )
    params_mb = sum(p.stat().st_size for p in (tmp / "s3-runs").rglob("params.npz")) / 2**20
    at = dict(rss)
    tenth = at.get(max(1, n // 10), rss[1][1])
    return {
        "trials": r["trials"],
        "seconds": r["seconds"],
        "params_written_mb": params_mb,
        "client_rss_mb_after_10pct": tenth,
        "client_rss_mb_at_end": rss[-1][1],
        "client_rss_mb_max": max(v for _, v in rss),
        "growth_mb_10pct_to_end": rss[-1][1] - tenth,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="nnctl's sweep benchmark (docs/developers/sweep.md).")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and trials (CI)")
    ap.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="results file [default: bench/sweep_results.json]",
    )
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    out: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
        }
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out["S0"] = s0_machine(3 if args.quick else 5)
        print(
            f"S0  the machine: two CPU loops in 2 processes take {out['S0']['ratio']:.2f}x the "
            f"time of the same two in sequence (1.0: no second core to be had)",
            flush=True,
        )
        out["S1"] = s1_scaling(tmp, 1 if args.quick else 3)
        print(
            f"S1  16 trainings: 1 worker {out['S1']['seconds_1_worker']:.2f} s, 2 workers "
            f"{out['S1']['seconds_2_workers']:.2f} s, ratio {out['S1']['ratio']:.2f} "
            "(target <= 0.6); "
            f"with the cluster's start {out['S1']['ratio_with_cluster_start']:.2f}",
            flush=True,
        )
        out["S2"] = s2_overhead(tmp, 10 if args.quick else 20)
        print(
            f"S2  per trial: train_run {out['S2']['train_run_ms']:.1f} ms, "
            f"sweep {out['S2']['sweep_ms_per_trial']:.1f} ms,"
            f" overhead {out['S2']['overhead_ms']:.1f} ms (target < 50)",
            flush=True,
        )
        out["S3"] = s3_memory(tmp, 40 if args.quick else 200)
        print(
            f"S3  {out['S3']['trials']} trials, {out['S3']['params_written_mb']:.0f} MB of "
            "parameters written; client RSS "
            f"{out['S3']['client_rss_mb_after_10pct']:.0f} MB after 10%, "
            f"{out['S3']['client_rss_mb_at_end']:.0f} MB at the end "
            f"(max {out['S3']['client_rss_mb_max']:.0f} MB)",
            flush=True,
        )
    out["machine"]["loadavg_after"] = os.getloadavg()
    print(
        f"load average before {load_before[0]:.2f}, after {out['machine']['loadavg_after'][0]:.2f} "
        f"({os.cpu_count()} cores)"
    )
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
