#!/usr/bin/env python3
"""Streaming benchmark (issue 14): ``python bench/stream.py [--quick] [--dir DIR]``.

Prints what it measures and writes ``bench/stream_results.json``; docs/developers/streaming.md
reports a run. It asserts nothing about time.

  rss         Synthetic uint8 image files (32x32x3, chunked along the example axis as
              ``nnctl data import`` writes them) of two sizes, each at least 3x the address
              space the training process may use (``prlimit --as``), trained by
              ``nnctl train`` with no ``stream`` key (so automatic streaming decides) for a fixed
              number of mini-batch steps, then scored on the whole file in blocks. Peak RSS of
              each process (``wait4``), which should be the same for both sizes.
  throughput  Issue 28's row: 100,000 uint8 32x32x3 images of 10 classes in a file that fits,
              from the page cache, [3072, 64, 10] relu/softmax, Adam, batch 256, float32, 2
              epochs: ``dataset.stream: true`` against ``false`` (loaded whole), interleaved,
              median of the repetitions; the training loop's own seconds (summary.json) per
              epoch, and the whole process. ``throughput_row(quick)`` is the same measurement
              as one row for bench/run.py.
  cold        The large file's pages dropped from the cache (``posix_fadvise DONTNEED``, this
              file only): ``dd`` sequential read speed, one epoch of streamed batches read
              without training, and training steps from the cold file, in MB/s of raw file.
  random      Why blocks: batches of random examples read by index from the file (what Keras's
              HDF5Matrix did) against streamed blocks, in MB/s from the page cache.
  accuracy    The course's cat data (real, small) trained with mini-batches (plain gradient
              descent 0.01, batch 64, 300 epochs) streamed and in memory for several seeds:
              test accuracy of each (different batch order, so close but not bit-identical).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "stream_results.json"
SHAPE = (32, 32, 3)
ROW = 32 * 32 * 3

FULL = {
    "limit_mb": 1024,
    "sizes_gb": (3.2, 6.4),
    "rss_iterations": 300,
    "tp_m": 100_000,
    "tp_reps": 7,
    "tp_epochs": 2,
    "cold_iterations": 300,
    "seeds": (1, 2, 3, 4, 5),
    "cat_epochs": 300,
}
QUICK = {
    "limit_mb": 1024,
    "sizes_gb": (0.05, 0.1),
    "rss_iterations": 20,
    "tp_m": 5000,
    "tp_reps": 1,
    "tp_epochs": 1,
    "cold_iterations": 20,
    "seeds": (1, 2),
    "cat_epochs": 5,
}


def make_file(path: Path, m: int, seed: int = 0, classes: int = 2) -> None:
    """uint8 images (m, 32, 32, 3), chunks of 256 examples, labels 0..classes-1; the red
    channel is brighter by 40 / (classes - 1) per class (a learnable signal). Written in slices,
    so making it needs little memory."""
    import h5py
    import numpy as np

    if path.is_file() and path.stat().st_size >= m * ROW:
        return
    rng = np.random.default_rng(seed)
    step = 8192
    with h5py.File(path, "w") as f:
        x = f.create_dataset("train_set_x", shape=(m, *SHAPE), dtype=np.uint8, chunks=(256, *SHAPE))
        y = rng.integers(0, classes, m)
        for a in range(0, m, step):
            b = min(m, a + step)
            part = rng.integers(0, 200, (b - a, *SHAPE), dtype=np.uint8)
            part[..., 0] += (y[a:b] * 40 // (classes - 1)).astype(np.uint8)[:, None, None]
            x[a:b] = part
        f.create_dataset("train_set_y", data=y)
        names = [b"dark", b"red"] if classes == 2 else [f"c{i}".encode() for i in range(classes)]
        f.create_dataset("list_classes", data=np.array(names))


def config(path: Path, train: Path, extra: str, body: str) -> Path:
    path.write_text(f"dataset: {{train: {train}{extra}}}\n{body}")
    return path


BODY = """\
layer_dims: [auto, 16, 1]
activations: {hidden: relu, output: sigmoid}
learning_rate: 0.001
optimizer: adam
batch_size: 256
dtype: float32
print_every: 100000
"""


def run_with_rss(args: list[str], limit: int | None = None) -> dict:
    """One ``nnctl`` process (under ``prlimit --as`` when limit is set): exit code, stdout,
    stderr, wall seconds and its peak RSS in MB (from wait4, so started with posix_spawn
    rather than Popen, which reaps the child itself)."""
    # One BLAS thread: on 2 cores the prefetch thread has the other one, and OpenBLAS threads
    # spin waiting for cores that other processes hold (docs/developers/performance.md).
    cmd = [sys.executable, "-m", "nnctl", *args, "--threads", "1"]
    if limit:
        cmd = ["prlimit", f"--as={limit}", "--", *cmd]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        pid = os.posix_spawnp(
            cmd[0],
            cmd,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ],
        )
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        return {
            "code": os.waitstatus_to_exitcode(status),
            "stdout": out.read(),
            "stderr": err.read(),
            "wall": wall,
            "rss_mb": usage.ru_maxrss / 1024,
        }


def summary_of(result: dict) -> dict:
    run_dir = json.loads(result["stdout"])["run_dir"]
    return json.loads((Path(run_dir) / "summary.json").read_text())


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def drop_from_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def part_rss(work: Path, p: dict, runs: Path) -> dict:
    limit = p["limit_mb"] << 20
    out = {"limit_mb": p["limit_mb"], "files": []}
    for gb in p["sizes_gb"]:
        m = int(gb * 1e9 / ROW)
        f = work / f"big_{m}.h5"
        make_file(f, m)
        cfg = config(work / f"rss_{m}.yaml", f, "", BODY + f"iterations: {p['rss_iterations']}\n")
        r = run_with_rss(["train", str(cfg), "--json", "--runs-dir", str(runs)], limit)
        if r["code"] != 0:
            raise SystemExit(f"rss run failed: {r['stderr']}")
        s = summary_of(r)
        notice = [line for line in r["stderr"].splitlines() if line.startswith("notice:")]
        row = {
            "m": m,
            "file_gb": round(f.stat().st_size / 1e9, 2),
            "x_as_float32_gb": round(m * ROW * 4 / 1e9, 1),
            "times_limit": round(f.stat().st_size / limit, 1),
            "peak_rss_mb": round(r["rss_mb"], 1),
            "wall_s": round(r["wall"], 1),
            "train_s": s["seconds"],
            "train_accuracy": s["train_accuracy"],
            "notice": notice,
        }
        # the same file loaded whole under the same limit
        whole = config(work / f"rss_{m}_whole.yaml", f, ", stream: false", BODY + "iterations: 1\n")
        w = run_with_rss(["train", str(whole), "--json", "--runs-dir", str(runs)], limit)
        row["in_memory_under_limit"] = {
            "code": w["code"],
            "stderr_last_line": (w["stderr"].strip().splitlines() or [""])[-1],
        }
        out["files"].append(row)
        print(
            f"rss: {row['file_gb']} GB file ({row['times_limit']}x the {p['limit_mb']} MB limit): "
            f"peak RSS {row['peak_rss_mb']} MB, {row['wall_s']} s; loaded whole: exit {w['code']}",
            flush=True,
        )
    return out


TP_BODY = """\
layer_dims: [auto, 64, 10]
activations: {hidden: relu, output: softmax}
learning_rate: 0.001
optimizer: adam
batch_size: 256
dtype: float32
print_every: 100000
"""


def cpu_name() -> str:
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    ):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or platform.machine()


def measure_throughput(work: Path, runs: Path, m: int, reps: int, epochs: int) -> dict:
    """Issue 28's streaming row on ``m`` examples (see the module's docstring): per repetition
    one streamed and one in-memory ``nnctl train`` process, interleaved; medians."""
    f = work / f"tp10_{m}.h5"
    make_file(f, m, seed=1, classes=10)
    with open(f, "rb") as fh:  # into the page cache
        while fh.read(1 << 24):
            pass
    cfgs = {
        k: config(work / f"tp10_{k}.yaml", f, f", stream: {v}", TP_BODY + f"epochs: {epochs}\n")
        for k, v in (("streamed", "true"), ("in_memory", "false"))
    }
    rows: dict[str, list] = {"streamed": [], "in_memory": []}
    for _ in range(reps):
        for k, cfg in cfgs.items():
            r = run_with_rss(["train", str(cfg), "--json", "--runs-dir", str(runs)])
            if r["code"] != 0:
                raise SystemExit(f"throughput run failed: {r['stderr']}")
            s = summary_of(r)
            rows[k].append(
                {
                    "train_s": s["seconds"],
                    "epoch_s": round(s["seconds"] / epochs, 4),
                    "wall_s": round(r["wall"], 2),
                    "rss_mb": round(r["rss_mb"], 1),
                    "train_accuracy": s["train_accuracy"],
                }
            )
    med = {
        k: {q: statistics.median(x[q] for x in v) for q in ("epoch_s", "wall_s", "rss_mb")}
        for k, v in rows.items()
    }
    return {
        "m": m,
        "network": [ROW, 64, 10],
        "batch_size": 256,
        "dtype": "float32",
        "epochs": epochs,
        "file_mb": round(f.stat().st_size / 1e6, 1),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "reps": rows,
        "median": med,
        "streamed_epoch_s": med["streamed"]["epoch_s"],
        "in_memory_epoch_s": med["in_memory"]["epoch_s"],
        # as speed: in-memory time / streamed time (the target: at least 0.9)
        "ratio": round(med["in_memory"]["epoch_s"] / med["streamed"]["epoch_s"], 3),
        "ratio_wall": round(med["in_memory"]["wall_s"] / med["streamed"]["wall_s"], 3),
    }


def throughput_row(quick: bool) -> dict:
    """Issue 28's streaming row for ``bench/run.py``: {"streamed_epoch_s", "in_memory_epoch_s",
    "ratio" (in-memory / streamed epoch time: the streamed epoch's speed), "m", "cpu", ...}.
    ``quick``: 5,000 examples, 1 repetition of 1 epoch (a few seconds, for CI); else 100,000
    examples, 7 interleaved repetitions of 2 epochs. In a temporary folder, removed after.
    Quick's ratio only shows the row runs: its 20 batches are few next to the first window,
    read and converted on the training thread into buffers touched for the first time."""
    import shutil

    p = QUICK if quick else FULL
    work = Path(tempfile.mkdtemp(prefix="nnctl-stream-row-"))
    old = os.environ.get("NNCTL_CACHE_DIR")
    os.environ["NNCTL_CACHE_DIR"] = str(work / "cache")
    try:
        return measure_throughput(work, work / "runs", p["tp_m"], p["tp_reps"], p["tp_epochs"])
    finally:
        if old is None:
            os.environ.pop("NNCTL_CACHE_DIR", None)
        else:
            os.environ["NNCTL_CACHE_DIR"] = old
        shutil.rmtree(work, ignore_errors=True)


def part_throughput(work: Path, p: dict, runs: Path) -> dict:
    out = measure_throughput(work, runs, p["tp_m"], p["tp_reps"], p["tp_epochs"])
    med = out["median"]
    print(
        f"throughput (page cache, {out['m']} examples, [3072, 64, 10], {out['epochs']} epochs, "
        f"{out['cpu']}): epoch streamed {out['streamed_epoch_s']:.3f} s, in memory "
        f"{out['in_memory_epoch_s']:.3f} s -> streamed/in-memory speed {out['ratio']}; "
        f"whole process {med['streamed']['wall_s']:.2f} s against {med['in_memory']['wall_s']:.2f}"
        f" s ({out['ratio_wall']})",
        flush=True,
    )
    return out


def stream_pass(path: Path, seconds_limit: float = 1e9) -> tuple[float, float]:
    """(MB of raw file read, seconds) for one epoch of streamed batches, no training."""
    import numpy as np

    from nnctl.data import H5Columns, read_h5_header
    from nnctl.training import TrainState

    X = H5Columns(read_h5_header(path).x, 255.0, np.float32)
    m = X.shape[1]
    src = X.batch_source(np.zeros((1, m), np.uint8), lambda Yb: Yb, 256, 1)
    s = TrainState.__new__(TrainState)
    s.epoch, s.stream = 0, None
    t = time.perf_counter()
    n = -(-m // 256)
    done = 0
    for b in range(n):
        s.batch = b
        src.next_batch(s)
        done += 1
        if time.perf_counter() - t > seconds_limit:
            break
    dt = time.perf_counter() - t
    src.close()
    return min(m, done * 256) * ROW / 1e6, dt


def part_cold(work: Path, p: dict, runs: Path) -> dict:
    m = int(p["sizes_gb"][0] * 1e9 / ROW)
    f = work / f"big_{m}.h5"
    make_file(f, m)
    size = f.stat().st_size
    drop_from_cache(f)
    t = time.perf_counter()
    dd = subprocess.run(["dd", f"if={f}", "of=/dev/null", "bs=4M"], capture_output=True, text=True)
    dd_s = time.perf_counter() - t
    dd_line = dd.stderr.strip().splitlines()[-1]
    drop_from_cache(f)
    mb, sec = stream_pass(f)
    drop_from_cache(f)
    cfg = config(
        work / "cold.yaml", f, ", stream: true", BODY + f"iterations: {p['cold_iterations']}\n"
    )
    r = run_with_rss(["train", str(cfg), "--json", "--runs-dir", str(runs)])
    s = summary_of(r)
    # the same steps again, the file's first blocks now in the page cache: what the training
    # itself allows (the cold run cannot read faster than it consumes)
    warm = summary_of(run_with_rss(["train", str(cfg), "--json", "--runs-dir", str(runs)]))
    mb_steps = p["cold_iterations"] * 256 * ROW / 1e6
    out = {
        "file_mb": round(size / 1e6),
        "dd_mb_s": round(size / 1e6 / dd_s, 1),
        "dd": dd_line,
        "stream_read_only_mb_s": round(mb / sec, 1),
        "stream_read_only_s": round(sec, 1),
        "train_iterations": p["cold_iterations"],
        "train_s": s["seconds"],
        "train_mb_s": round(mb_steps / s["seconds"], 1),
        "train_warm_s": warm["seconds"],
        "train_warm_mb_s": round(mb_steps / warm["seconds"], 1),
    }
    print(
        f"cold: dd {out['dd_mb_s']} MB/s; streamed batches without training "
        f"{out['stream_read_only_mb_s']} MB/s; "
        f"training from the cold file {out['train_mb_s']} MB/s (from the page cache "
        f"{out['train_warm_mb_s']} MB/s)",
        flush=True,
    )
    return out


def part_random(work: Path, p: dict, runs: Path) -> dict:
    """Why blocks: a batch of 256 random examples read from the file (h5py fancy indexing, as
    Keras's HDF5Matrix did) against the same bytes as whole shuffled blocks, page cache."""
    import h5py
    import numpy as np

    f = work / f"tp_{p['tp_m']}.h5"
    make_file(f, p["tp_m"], seed=1)
    rng = np.random.default_rng(0)
    with h5py.File(f, "r") as h:
        ds = h["train_set_x"]
        m = ds.shape[0]
        n = min(100, m // 256)
        t = time.perf_counter()
        for _ in range(n):
            ds[np.sort(rng.choice(m, 256, replace=False))]
        random_s = time.perf_counter() - t
    mb, sec = stream_pass(f)
    out = {
        "random_batch_mb_s": round(n * 256 * ROW / 1e6 / random_s, 1),
        "streamed_mb_s": round(mb / sec, 1),
    }
    out["ratio"] = round(out["streamed_mb_s"] / out["random_batch_mb_s"], 1)
    print(
        f"random-index batches {out['random_batch_mb_s']} MB/s against streamed blocks "
        f"{out['streamed_mb_s']} MB/s "
        f"({out['ratio']}x)",
        flush=True,
    )
    return out


def part_accuracy(work: Path, p: dict, runs: Path) -> dict:
    data = Path(os.environ.get("NNCTL_DATA_DIR", ROOT.parent / "shared" / "data"))
    train, test = data / "train_catvnoncat.h5", data / "test_catvnoncat.h5"
    if not train.is_file():
        return {"skipped": f"no {train}"}
    out: dict[str, list] = {"streamed": [], "in_memory": []}
    for seed in p["seeds"]:
        for k, v in (("streamed", "true"), ("in_memory", "false")):
            cfg = work / f"cat_{k}_{seed}.yaml"
            cfg.write_text(
                f"dataset: {{train: {train}, test: {test}, stream: {v}}}\n"
                "layer_dims: [auto, 20, 7, 5, 1]\nactivations: {hidden: relu, output: sigmoid}\n"
                f"learning_rate: 0.01\nbatch_size: 64\nepochs: {p['cat_epochs']}\n"
                f"seed: {seed}\nprint_every: 100000\n"
            )
            r = run_with_rss(["train", str(cfg), "--json", "--runs-dir", str(runs)])
            out[k].append(json.loads(r["stdout"])["test_accuracy"])
    res = {
        k: {
            "test_accuracy": v,
            "mean": round(statistics.mean(v), 4),
            "sd": round(statistics.stdev(v), 4) if len(v) > 1 else 0.0,
        }
        for k, v in out.items()
    }
    print(
        f"accuracy (cat, gd 0.01, batch 64, {p['cat_epochs']} epochs, seeds {list(p['seeds'])}): "
        f"streamed {res['streamed']['mean']} "
        f"± {res['streamed']['sd']}, in memory {res['in_memory']['mean']} ± "
        f"{res['in_memory']['sd']}",
        flush=True,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="small files, few repetitions (checks the bench runs)"
    )
    ap.add_argument(
        "--dir", type=Path, default=None, help="where the synthetic files go (default: a temp dir)"
    )
    ap.add_argument("--parts", default="rss,throughput,cold,random,accuracy")
    args = ap.parse_args()
    p = QUICK if args.quick else FULL
    work = args.dir or Path(tempfile.mkdtemp(prefix="nnctl-stream-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = work / "runs"
    env_cache = work / "cache"
    os.environ.setdefault("NNCTL_CACHE_DIR", str(env_cache))
    results: dict = {
        "quick": args.quick,
        "load_before": load(),
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    parts = {
        "rss": part_rss,
        "throughput": part_throughput,
        "cold": part_cold,
        "random": part_random,
        "accuracy": part_accuracy,
    }
    for name in args.parts.split(","):
        results[name] = parts[name](work, p, runs)
        results[f"load_after_{name}"] = load()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not args.quick:
        # parts run separately are merged into the file: the other parts' last results stay
        earlier = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        RESULTS.write_text(json.dumps({**earlier, **results}, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k.startswith("load")}))


if __name__ == "__main__":
    main()
