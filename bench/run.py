#!/usr/bin/env python3
"""nnctl's benchmark suite: ``python bench/run.py [--quick]``.

Prints a table on stdout and writes ``bench/results.json``. Every comparison is measured in this
one run, interleaved (A B A B ...), as the median of several repetitions, and reported as a
ratio, so a busy machine slows both sides alike instead of deciding the outcome.

The yardstick is this file's own straightforward implementation of the course's algorithm
(float64, parameters in a dict, a cache per layer, dA computed for every layer including the
input, plain full-batch gradient descent). It does not import nnctl.

Workloads:
  W1  cat_deep: [12288, 20, 7, 5, 1] relu/sigmoid on the course's 209 cat images, full batch.
      nnctl's training loop (``nnctl.commands.train.fit``) against the yardstick's, and the whole
      process (``nnctl train configs/cat_deep.yaml --quiet``) against the yardstick's whole process.
  W2  60000 x 784 synthetic inputs, [784, 256, 128, 10] relu + softmax, Adam, batch 128,
      2 epochs, float32 and float64; epoch time, examples/s, peak RSS, and the time of the same
      matrix products alone as a lower bound.
  start-up: ``nnctl --help`` and ``nnctl predict RUN image.jpg``, whole process.
  busy  the direct path on the cat data (``--set l2=0.1 --set iterations=100``) while a second
      process keeps one core busy: nnctl's default thread setting against ``--threads 1`` and
      against all cores (what the default was before it was chosen per run).

--peers adds PyTorch (CPU) on W1 and W2 when ``torch`` is importable (``pip install
torch==2.13.0``), each in its own process, interleaved with nnctl's; without torch the table
says it was skipped.

--quick shrinks every workload (fewer iterations, examples and repetitions) for CI; it asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
CAT_DIMS = [12288, 20, 7, 5, 1]
LEARNING_RATE = 0.0075

FULL = {
    "w1_iterations": 2500,
    "ideas_iterations": 200,
    "w1_reps": 3,
    "proc_reps": 3,
    "startup_reps": 7,
    "w2_m": 60000,
    "w2_epochs": 1,
    "w2_reps": 3,
    "busy_iterations": 100,
    "busy_reps": 3,
    "bn_m": 60000,
    "bn_reps": 3,
    "bn_rounds": 30,
    "est_reps": 3,
    "est_seeds": 5,
    "est_w2": True,
}
PARTS = ("w1", "ideas", "startup", "w2", "busy", "batchnorm", "estimators", "stream")
QUICK = {
    "w1_iterations": 20,
    "ideas_iterations": 20,
    "w1_reps": 2,
    "proc_reps": 2,
    "startup_reps": 3,
    "w2_m": 2000,
    "w2_epochs": 1,
    "w2_reps": 1,
    "busy_iterations": 5,
    "busy_reps": 1,
    "bn_m": 2000,
    "bn_reps": 1,
    "bn_rounds": 3,
    "est_reps": 1,
    "est_seeds": 1,
    "est_w2": False,
}


# =========================================================================== the yardstick
# The course's "Deep Neural Network - Application", written out plainly. numpy is imported
# inside so that the whole-process measurement pays for it like nnctl does.


def yardstick_load_cat(data_dir: Path):
    import h5py
    import numpy as np

    with h5py.File(data_dir / CAT_FILES[0], "r") as f:
        train_x = np.array(f["train_set_x"][:])
        train_y = np.array(f["train_set_y"][:])
    X = train_x.reshape(train_x.shape[0], -1).T / 255.0
    Y = train_y.reshape(1, -1)
    return X, Y


def yardstick_train(X, Y, layers_dims, learning_rate, num_iterations):
    """Returns (parameters dict, costs list): costs[i] is the cost before update i."""
    import numpy as np

    def initialize_parameters_deep(layer_dims):
        np.random.seed(1)
        parameters = {}
        for l in range(1, len(layer_dims)):
            parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(
                layer_dims[l - 1]
            )
            parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
        return parameters

    def linear_forward(A, W, b):
        Z = np.dot(W, A) + b
        return Z, (A, W, b)

    def sigmoid(Z):
        return 1 / (1 + np.exp(-Z)), Z

    def relu(Z):
        return np.maximum(0, Z), Z

    def linear_activation_forward(A_prev, W, b, activation):
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z) if activation == "sigmoid" else relu(Z)
        return A, (linear_cache, activation_cache)

    def L_model_forward(X, parameters):
        caches = []
        A = X
        L = len(parameters) // 2
        for l in range(1, L):
            A, cache = linear_activation_forward(
                A, parameters["W" + str(l)], parameters["b" + str(l)], "relu"
            )
            caches.append(cache)
        AL, cache = linear_activation_forward(
            A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid"
        )
        caches.append(cache)
        return AL, caches

    def compute_cost(AL, Y):
        m = Y.shape[1]
        cost = (-1 / m) * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))
        return float(np.squeeze(cost))

    def linear_backward(dZ, cache):
        A_prev, W, b = cache
        m = A_prev.shape[1]
        dW = 1 / m * np.dot(dZ, A_prev.T)
        db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        dA_prev = np.dot(W.T, dZ)
        return dA_prev, dW, db

    def relu_backward(dA, Z):
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
        return dZ

    def sigmoid_backward(dA, Z):
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)

    def linear_activation_backward(dA, cache, activation):
        linear_cache, activation_cache = cache
        dZ = (
            sigmoid_backward(dA, activation_cache)
            if activation == "sigmoid"
            else relu_backward(dA, activation_cache)
        )
        return linear_backward(dZ, linear_cache)

    def L_model_backward(AL, Y, caches):
        grads = {}
        L = len(caches)
        Y = Y.reshape(AL.shape)
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = (
            linear_activation_backward(dAL, caches[L - 1], "sigmoid")
        )
        for l in reversed(range(L - 1)):
            grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = (
                linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu")
            )
        return grads

    def update_parameters(parameters, grads, learning_rate):
        L = len(parameters) // 2
        for l in range(L):
            parameters["W" + str(l + 1)] = (
                parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
            )
            parameters["b" + str(l + 1)] = (
                parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
            )
        return parameters

    parameters = initialize_parameters_deep(layers_dims)
    costs = []
    for _ in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        costs.append(compute_cost(AL, Y))
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, costs


def yardstick_process(data_dir: Path, iterations: int) -> None:
    """What the yardstick's whole-process measurement runs: load, train, save, exit."""
    import numpy as np

    X, Y = yardstick_load_cat(data_dir)
    parameters, costs = yardstick_train(X, Y, CAT_DIMS, LEARNING_RATE, iterations)
    with tempfile.TemporaryDirectory() as d:
        np.savez(Path(d) / "params.npz", **parameters)


# ============================================================== PyTorch, the peer (--peers)
# Run in a child process of its own (``--peer NAME ...``), which prints one JSON line. What a
# PyTorch user would write: nn.Sequential, the library's loss and optimizer, index batches.


def compiled_available() -> bool:
    """Whether nnctl's compiled updates (nnctl/core/_fused.c, built by the install) are here."""
    from nnctl.core import fused

    return fused.kernel("adam") is not None


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def torch_w2(data_file: Path, epochs: int, dtype: str, threads: int | None = None) -> dict:
    import h5py
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    with h5py.File(data_file, "r") as f:
        X = torch.from_numpy(np.asarray(f["train_x"][()], dtype=dtype))  # (m, 784)
        y = torch.from_numpy(np.asarray(f["train_y"][()], dtype=np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    ).to(tdtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    m, bs = X.shape[0], 128
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(m)
        for k in range(0, m, bs):
            idx = perm[k : k + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
    loop = time.perf_counter() - t
    return {
        "loop_s": loop,
        "final_loss": float(loss),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def torch_w1(data_dir: Path, iterations: int, threads: int | None = None) -> dict:
    """The course's cat network, full-batch gradient descent, float64 like the course."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    X, Y = yardstick_load_cat(data_dir)
    Xt = torch.from_numpy(X.T.copy())  # (m, n_x): PyTorch's layout, one example per row
    Yt = torch.from_numpy(Y.T.astype("float64"))
    dims = CAT_DIMS
    layers: list = []
    for l in range(1, len(dims)):
        layers.append(torch.nn.Linear(dims[l - 1], dims[l]).double())
        layers.append(torch.nn.ReLU() if l < len(dims) - 1 else torch.nn.Identity())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    t = time.perf_counter()
    for _ in range(iterations):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xt), Yt)
        loss.backward()
        opt.step()
    return {
        "loop_s": time.perf_counter() - t,
        "final_loss": float(loss),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def run_peer(args: list[str], env: dict) -> dict:
    """Runs ``bench/run.py --peer ...`` in a child process: its JSON and the process's wall time."""
    wall, code, rss, out, err = run_process(
        [sys.executable, str(Path(__file__).resolve()), "--peer", *args], env
    )
    if code != 0:
        return {"status": f"failed: exit {code}: {err.strip()[-300:]}"}
    return {
        "status": "ok",
        "process_s": wall,
        "peak_rss_bytes": rss,
        **json.loads(out.strip().splitlines()[-1]),
    }


# =========================================================================== helpers


def median_time(fn, reps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def interleaved(a, b, reps: int) -> dict:
    """Runs a, b, a, b, ... and returns each side's median and all times."""
    ta, tb = [], []
    for _ in range(reps):
        for fn, ts in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    return {
        "a_median": statistics.median(ta),
        "b_median": statistics.median(tb),
        "a_times": ta,
        "b_times": tb,
    }


def interleaved_all(fns: dict, reps: int) -> dict[str, list]:
    """Runs every function once per round, round after round; returns each one's results (its
    return values, e.g. times) in order."""
    out: dict[str, list] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            out[k].append(fn())
    return out


def run_process(cmd: list[str], env: dict | None = None) -> tuple[float, int, int, str, str]:
    """Runs cmd; returns (wall seconds, exit status, peak RSS in bytes, stdout, stderr)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, p.returncode, usage.ru_maxrss * 1024, out.read().decode(), err.read().decode()


def nnctl_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "nnctl"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("nnctl")
    return [found] if found else [sys.executable, "-m", "nnctl"]


def cat_data_dir() -> Path | None:
    candidates = [ROOT / "data"]
    if os.environ.get("NNCTL_DATA_DIR"):
        candidates.append(Path(os.environ["NNCTL_DATA_DIR"]))
    candidates.append(ROOT.parent / "shared" / "data")
    for d in candidates:
        if all((d / f).is_file() for f in CAT_FILES):
            return d
    return None


def atomic_write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def machine() -> dict:
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "?"
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "env": {
            k: os.environ[k]
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
            )
            if k in os.environ
        },
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# =========================================================================== W1


def bench_w1(p: dict, data_dir: Path | None, env: dict) -> dict:
    if data_dir is None:
        return {"status": "n/a: the course's cat data is in neither data/ nor $NNCTL_DATA_DIR"}
    import numpy as np

    from nnctl.commands import fit
    from nnctl.config import load_config
    from nnctl.data import load_dataset

    n = p["w1_iterations"]
    cfg = load_config(ROOT / "configs" / "cat_deep.yaml", [f"iterations={n}"])
    ds = load_dataset(cfg.dataset, cfg.dtype)
    cfg = cfg.with_input_dim(ds.n_features)
    X_y, Y_y = yardstick_load_cat(data_dir)
    got = {}

    def nnctl_loop():
        got["nnctl"] = fit(cfg, ds.X_train, ds.Y_train)

    def yard_loop():
        got["yard"] = yardstick_train(X_y, Y_y, CAT_DIMS, LEARNING_RATE, n)

    loop = interleaved(yard_loop, nnctl_loop, p["w1_reps"])
    result, (yparams, ycosts) = got["nnctl"], got["yard"]
    cost_diff = float(np.max(np.abs(np.array(result.costs) - np.array(ycosts))))
    param_rel = max(
        float(np.max(np.abs(v - yparams[k])) / np.max(np.abs(yparams[k])))
        for k, v in result.params.to_dict().items()
    )

    with tempfile.TemporaryDirectory() as runs:
        nn = nnctl_cmd() + [
            "train",
            str(ROOT / "configs" / "cat_deep.yaml"),
            "--quiet",
            "--runs-dir",
            runs,
            "--set",
            f"iterations={n}",
        ]
        yd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--yardstick-process",
            str(n),
            "--data-dir",
            str(data_dir),
        ]
        status = {}

        def proc(cmd, key):
            def go():
                wall, code, _, _, err = run_process(cmd, env)
                status[key] = (code, err.strip().splitlines()[-1:] if code else "")

            return go

        whole = interleaved(proc(yd, "yard"), proc(nn, "nnctl"), p["proc_reps"])
    for key, (code, err) in status.items():
        if code != 0:
            return {"status": f"failed: {key} process exited {code}: {err}"}
    peer = peer_w1(p, data_dir, env, n, loop["b_median"])
    return {
        "status": "ok",
        "iterations": n,
        "loop_yardstick_s": loop["a_median"],
        "loop_nnctl_s": loop["b_median"],
        "loop_ratio": loop["a_median"] / loop["b_median"],
        "loop_times": {"yardstick": loop["a_times"], "nnctl": loop["b_times"]},
        "process_yardstick_s": whole["a_median"],
        "process_nnctl_s": whole["b_median"],
        "process_ratio": whole["a_median"] / whole["b_median"],
        "process_times": {"yardstick": whole["a_times"], "nnctl": whole["b_times"]},
        "max_cost_difference": cost_diff,
        "max_param_relative_difference": param_rel,
        "torch": peer,
        "targets": {
            "loop_ratio": 50,
            "process_ratio": 25,
            "cost_difference": 1e-6,
            "param_relative": 1e-6,
        },
    }


def peer_w1(p: dict, data_dir: Path, env: dict, n: int, nnctl_loop_s: float) -> dict:
    """PyTorch's loop time on W1 (--peers), median of the W1 repetitions."""
    if not p.get("peers"):
        return {"status": "not run (no --peers)"}
    if not torch_available():
        return {"status": "skipped: torch is not importable (pip install torch==2.13.0)"}
    # one thread, as nnctl's fast path runs its loop (PyTorch's default, all cores, spins on a
    # busy machine; see bench_w2)
    runs = [
        run_peer(
            ["torch-w1", "--iterations", str(n), "--data-dir", str(data_dir), "--threads", "1"],
            dict(env, OMP_NUM_THREADS="1"),
        )
        for _ in range(p["w1_reps"])
    ]
    bad = [r for r in runs if r["status"] != "ok"]
    if bad:
        return bad[0]
    loop_s = statistics.median(r["loop_s"] for r in runs)
    return {
        "status": "ok",
        "loop_s": loop_s,
        "times": [r["loop_s"] for r in runs],
        "threads": runs[0]["threads"],
        "torch": runs[0]["torch"],
        "nnctl_speedup": loop_s / nnctl_loop_s,
    }


# =========================================================================== the ideas, one by one


def bench_ideas(p: dict, data_dir: Path | None) -> dict:
    """Seconds per iteration of each variant on W1, interleaved: what each idea is worth."""
    if data_dir is None:
        return {"status": "n/a: no cat data"}
    import dataclasses

    import nnctl.training.fullbatch as fullbatch
    from nnctl.commands import fit
    from nnctl.config import load_config
    from nnctl.data import load_dataset

    n = p["ideas_iterations"]
    cfg = load_config(ROOT / "configs" / "cat_deep.yaml", [f"iterations={n}"])
    ds = load_dataset(cfg.dataset, cfg.dtype)
    cfg = cfg.with_input_dim(ds.n_features)
    X32 = ds.X_train.astype("float32")
    cfg32 = dataclasses.replace(cfg, dtype="float32")
    X_y, Y_y = yardstick_load_cat(data_dir)
    real_applies, real_threshold = fullbatch.fast_path_applies, fullbatch.SINGLE_THREAD_BELOW

    def direct():
        fullbatch.fast_path_applies = lambda cfg, X: False
        try:
            fit(cfg, ds.X_train, ds.Y_train)
        finally:
            fullbatch.fast_path_applies = real_applies

    def factored_default_threads():
        fullbatch.SINGLE_THREAD_BELOW = 0
        try:
            fit(cfg, ds.X_train, ds.Y_train)
        finally:
            fullbatch.SINGLE_THREAD_BELOW = real_threshold

    variants = {
        "yardstick (dict params, dA of every layer)": lambda: yardstick_train(
            X_y, Y_y, CAT_DIMS, LEARNING_RATE, n
        ),
        "nnctl direct path (input dA skipped)": direct,
        "factored W1, default BLAS threads": factored_default_threads,
        "factored W1, one BLAS thread (shipped)": lambda: fit(cfg, ds.X_train, ds.Y_train),
        "factored W1, one BLAS thread, float32": lambda: fit(cfg32, X32, ds.Y_train),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(p["w1_reps"]):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["yardstick (dict params, dA of every layer)"]
    return {
        "status": "ok",
        "iterations": n,
        "variants": {
            k: {"seconds": v, "ms_per_iteration": 1000 * v / n, "speedup_vs_yardstick": base / v}
            for k, v in med.items()
        },
    }


# =========================================================================== start-up


def bench_startup(p: dict, env: dict, data_dir: Path | None) -> dict:
    reps = p["startup_reps"]
    python_floor, _ = median_time(lambda: run_process([sys.executable, "-c", "pass"], env), reps)
    out: dict = {"python_-c_pass_s": python_floor}
    codes = []
    help_s, _ = median_time(
        lambda: codes.append(run_process(nnctl_cmd() + ["--help"], env)[1]), reps
    )
    out["help_s"] = help_s if set(codes) == {0} else None
    out["predict"] = bench_predict(reps, env, data_dir)
    out["targets"] = {"help_s": 0.3, "predict_s": 0.6}
    return out


def bench_predict(reps: int, env: dict, data_dir: Path | None) -> dict:
    _, code, _, _, _ = run_process(nnctl_cmd() + ["predict", "--help"], env)
    if code != 0:
        return {"status": "n/a: this nnctl has no predict command"}
    if data_dir is None:
        return {"status": "n/a: needs the cat data for a trained run and an image"}
    import h5py
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        runs = Path(d) / "runs"
        wall, code, _, stdout, err = run_process(
            nnctl_cmd()
            + [
                "train",
                str(ROOT / "configs" / "cat_deep.yaml"),
                "--quiet",
                "--runs-dir",
                str(runs),
                "--set",
                "iterations=20",
            ],
            env,
        )
        if code != 0:
            return {"status": f"n/a: training a run for predict failed: {err.strip()[-200:]}"}
        run = stdout.strip().splitlines()[-1]
        with h5py.File(data_dir / CAT_FILES[1], "r") as f:
            Image.fromarray(f["test_set_x"][0]).save(Path(d) / "one_image.jpg")
        cmd = nnctl_cmd() + ["predict", str(runs / run), str(Path(d) / "one_image.jpg")]
        codes = []
        s, _ = median_time(lambda: codes.append(run_process(cmd, env)[1]), reps)
        if set(codes) != {0}:
            return {"status": f"n/a: nnctl predict RUN image.jpg exited {codes[0]}"}
        return {"status": "ok", "seconds": s}


# =========================================================================== W2


def w2_config_text(dtype: str, epochs: int, data_file: Path) -> str:
    return (
        f"dataset: {{train: {data_file}}}\n"
        "layer_dims: [784, 256, 128, 10]\n"
        "activations: [relu, relu, softmax]\n"
        "init: he\n"
        "optimizer: adam\n"
        "learning_rate: 0.001\n"
        "batch_size: 128\n"
        f"epochs: {epochs}\n"
        f"dtype: {dtype}\n"
        "print_every: 1000000\n"
    )


def matmul_bound(m: int, epochs: int, dtype: str, reps: int, threads: int | None = None) -> float:
    """Seconds for the W2 training's matrix products alone, in one tight loop over preallocated
    arrays: per batch, three forward products, three dW products and two dA products (the
    input's dA is never needed). ``threads``: BLAS threads (None: as they are)."""
    import contextlib

    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    dims = [784, 256, 128, 10]
    bs = 128
    Ws = [rng.standard_normal((n, k)).astype(dtype) for k, n in zip(dims[:-1], dims[1:])]
    X = rng.standard_normal((dims[0], bs)).astype(dtype)
    As = [X] + [np.empty((n, bs), dtype) for n in dims[1:]]
    dZs = [rng.standard_normal((n, bs)).astype(dtype) for n in dims[1:]]
    dAs = [np.empty((n, bs), dtype) for n in dims[1:-1]]
    dWs = [np.empty_like(W) for W in Ws]
    batches = epochs * -(-m // bs)

    def run():
        for _ in range(batches):
            for l in range(3):
                np.matmul(Ws[l], As[l], out=As[l + 1])
            for l in (2, 1, 0):
                np.matmul(dZs[l], As[l].T, out=dWs[l])
                if l:
                    np.matmul(Ws[l].T, dZs[l], out=dAs[l - 1])

    limit = (
        threadpool_limits(limits=threads, user_api="blas") if threads else contextlib.nullcontext()
    )
    with limit:
        return median_time(run, reps)[0]


def bench_w2(p: dict, env: dict) -> dict:
    """Per dtype, interleaved for ``w2_reps`` rounds: the matrix products alone on one BLAS
    thread and on the default threads (the bound is the faster), nnctl's one-epoch run as a
    whole process (its training loop's ``seconds`` and its wall time), and PyTorch's (--peers)."""
    import numpy as np

    m, epochs, reps = p["w2_m"], p["w2_epochs"], p["w2_reps"]
    out: dict = {"m": m, "epochs": epochs, "reps": reps, "dtypes": {}}
    peers = "not run (no --peers)"
    if p.get("peers"):
        peers = (
            "ok"
            if torch_available()
            else "skipped: torch is not importable (pip install torch==2.13.0)"
        )
    out["torch_status"] = peers
    with tempfile.TemporaryDirectory() as d:
        import h5py

        data_file = Path(d) / "w2.h5"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((m, 784), dtype=np.float32)
        y = rng.integers(0, 10, m)
        with h5py.File(data_file, "w") as f:
            f["train_x"] = x
            f["train_y"] = y
            f["list_classes"] = np.array([str(k).encode() for k in range(10)])
        del x
        runs = Path(d) / "runs"
        for dtype in ("float32", "float64"):
            cfg_file = Path(d) / f"w2_{dtype}.yaml"
            cfg_file.write_text(w2_config_text(dtype, epochs, data_file))
            cmd = nnctl_cmd() + [
                "train",
                str(cfg_file),
                "--quiet",
                "--json",
                "--runs-dir",
                str(runs),
            ]

            last: dict = {}

            def nnctl_run(compiled: str = "auto", cmd: list = cmd, last: dict = last):
                # the default (auto) runs the compiled one-pass updates the install built
                # (nnctl/core/_fused.c); the numpy-passes row (never) shows what they save, on
                # the threads of this round's default run
                run_env = dict(env or os.environ, NNCTL_COMPILED=compiled)
                args = cmd
                if compiled == "never" and last.get("threads"):
                    args = cmd + ["--threads", str(last["threads"])]
                wall, code, rss, stdout, err = run_process(args, run_env)
                if code != 0:
                    return {"status": f"failed: exit {code}: {err.strip()[-300:]}"}
                res = json.loads(stdout)
                summary = json.loads((Path(res["run_dir"]) / "summary.json").read_text())
                if compiled == "auto":
                    last["threads"] = (summary.get("threads") or {}).get("blas_threads")
                return {
                    "status": "ok",
                    "loop_s": res["seconds"],
                    "process_s": wall,
                    "peak_rss_bytes": rss,
                    "threads": summary.get("threads"),
                }

            def torch_run(last: dict = last, dtype: str = dtype):
                # on as many threads as nnctl's run of this round chose: PyTorch's own default
                # (all cores) spins on a busy machine like OpenBLAS (26.6 s against nnctl's 2.8 s
                # in a trial at load 9), which would measure the machine, not the library
                n = last.get("threads")
                tenv = dict(env, OMP_NUM_THREADS=str(n)) if n else env
                return run_peer(
                    [
                        "torch-w2",
                        "--data",
                        str(data_file),
                        "--epochs",
                        str(epochs),
                        "--dtype",
                        dtype,
                        *(["--threads", str(n)] if n else []),
                    ],
                    tenv,
                )

            fns = {
                "bound_1": lambda dtype=dtype: matmul_bound(m, epochs, dtype, 1, threads=1),
                "bound_default": lambda dtype=dtype: matmul_bound(m, epochs, dtype, 1),
                "nnctl": nnctl_run,
            }
            if compiled_available():
                fns["nnctl_numpy"] = lambda: nnctl_run("never")
            if peers == "ok":
                fns["torch"] = torch_run
            got = interleaved_all(fns, reps)
            row: dict = {
                "bound_1thread_epoch_s": statistics.median(got["bound_1"]) / epochs,
                "bound_default_threads_epoch_s": statistics.median(got["bound_default"]) / epochs,
            }
            row["matmul_bound_epoch_s"] = min(
                row["bound_1thread_epoch_s"], row["bound_default_threads_epoch_s"]
            )
            row["rss_limit_bytes"] = int(1.5 * m * 784 * np.dtype(dtype).itemsize + 200e6)
            bad = [r for r in got["nnctl"] if r["status"] != "ok"]
            if bad:
                row["status"] = bad[0]["status"]
            else:
                loop_s = statistics.median(r["loop_s"] for r in got["nnctl"]) / epochs
                process_s = statistics.median(r["process_s"] for r in got["nnctl"])
                overhead = statistics.median(r["process_s"] - r["loop_s"] for r in got["nnctl"])
                row.update(
                    status="ok",
                    epoch_s=loop_s,
                    examples_per_s=m / loop_s,
                    epoch_times=[r["loop_s"] / epochs for r in got["nnctl"]],
                    peak_rss_bytes=max(r["peak_rss_bytes"] for r in got["nnctl"]),
                    process_s=process_s,
                    process_overhead_s=overhead,
                    threads=got["nnctl"][0]["threads"],
                    epoch_over_bound=loop_s / row["matmul_bound_epoch_s"],
                )
            if "nnctl_numpy" in got:
                cgood = [r for r in got["nnctl_numpy"] if r["status"] == "ok"]
                if cgood and len(cgood) == len(got["nnctl_numpy"]):
                    c_epoch = statistics.median(r["loop_s"] for r in cgood) / epochs
                    row["numpy_passes"] = {
                        "status": "ok",
                        "epoch_s": c_epoch,
                        "epoch_times": [r["loop_s"] / epochs for r in cgood],
                        "epoch_over_bound": c_epoch / row["matmul_bound_epoch_s"],
                        "process_overhead_s": statistics.median(
                            r["process_s"] - r["loop_s"] for r in cgood
                        ),
                        "threads": cgood[0]["threads"],
                    }
                else:
                    row["numpy_passes"] = {
                        "status": next(
                            r["status"] for r in got["nnctl_numpy"] if r["status"] != "ok"
                        )
                    }
            if "torch" in got:
                tbad = [r for r in got["torch"] if r["status"] != "ok"]
                if tbad:
                    row["torch"] = tbad[0]
                else:
                    t_epoch = statistics.median(r["loop_s"] for r in got["torch"]) / epochs
                    row["torch"] = {
                        "status": "ok",
                        "epoch_s": t_epoch,
                        "epoch_times": [r["loop_s"] / epochs for r in got["torch"]],
                        "process_s": statistics.median(r["process_s"] for r in got["torch"]),
                        "threads": got["torch"][0]["threads"],
                        "torch": got["torch"][0]["torch"],
                    }
                    if row.get("status") == "ok":
                        row["torch"]["nnctl_speedup"] = t_epoch / row["epoch_s"]
                    if row.get("numpy_passes", {}).get("status") == "ok":
                        row["torch"]["nnctl_numpy_speedup"] = (
                            t_epoch / row["numpy_passes"]["epoch_s"]
                        )
            out["dtypes"][dtype] = row
    f32, f64 = out["dtypes"]["float32"], out["dtypes"]["float64"]
    if f32.get("status") == "ok" and f64.get("status") == "ok":
        out["float32_speedup"] = f64["epoch_s"] / f32["epoch_s"]
    out["targets"] = {
        "epoch_over_bound": {"float32": 1.4, "float64": 1.3},
        "process_overhead_s": 0.4,
        "float32_speedup": 1.6,
        "peak_rss": "1.5 x dataset bytes + 200 MB",
    }
    return out


# =========================================================================== the other rows
# Batch norm's cost, the estimators against ``nnctl train`` and scikit-learn, and streaming: each
# is measured by its own bench script (bench/batchnorm.py, estimators.py, stream.py), called
# here so that one run of this file reports every row of the performance issue.


def bench_batchnorm(p: dict) -> dict:
    """W2 one-epoch processes with and without ``batch_norm: true`` (float32, the threads the
    plain run's default chooses: none given, so 1 with --quick's limit) and the in-process step
    comparison."""
    import batchnorm

    out: dict = {"status": "ok", "m": p["bn_m"], "reps": p["bn_reps"]}
    threads = p.get("blas_threads") or 1
    with tempfile.TemporaryDirectory() as d:
        data = batchnorm.w2_file(Path(d) / "w2.h5", p["bn_m"])
        out["float32"] = batchnorm.epoch_times(Path(d), data, "float32", p["bn_reps"], threads)
        out["float32"]["threads"] = threads
        out["float32"]["step"] = batchnorm.step_times("float32", p["bn_rounds"])
    return out


def bench_estimators(p: dict) -> dict:
    """NNClassifier.fit against nnctl.train and MLPClassifier (bench/estimators.py): digits and
    breast cancer, and W2 (one seed for its accuracy) unless --quick."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return {"status": "skipped: scikit-learn is not installed (the sklearn extra)"}
    import estimators

    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, w in estimators.workloads(p["est_w2"]).items():
            seeds = 1 if name.startswith("K3") else p["est_seeds"]
            rows.append(estimators.bench(name, w, p["est_reps"], seeds, Path(d) / "runs"))
    return {"status": "ok", "rows": rows}


def bench_stream(p: dict) -> dict:
    """A streamed uint8 image epoch against the same epoch in memory (bench/stream.py)."""
    import stream

    return {"status": "ok", **stream.throughput_row(p["mode"] == "quick")}


# =========================================================================== busy machine


def bench_busy(p: dict, env: dict, data_dir: Path | None) -> dict:
    """The direct path (cat data, l2 keeps it off the fast path) while a second process keeps a
    core busy: nnctl's default thread setting against --threads 1 and --threads <all cores>."""
    if data_dir is None:
        return {"status": "n/a: no cat data"}
    n_cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    base = nnctl_cmd() + [
        "train",
        str(ROOT / "configs" / "cat_deep.yaml"),
        "--quiet",
        "--json",
        "--set",
        "l2=0.1",
        "--set",
        f"iterations={p['busy_iterations']}",
    ]
    # the default must be nnctl's own choice, not the environment's
    child_env = {
        k: v for k, v in env.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with tempfile.TemporaryDirectory() as runs:

            def run(extra):
                def go():
                    wall, code, _, out, err = run_process(
                        base + ["--runs-dir", runs] + extra, child_env
                    )
                    if code != 0:
                        return {"status": f"failed: exit {code}: {err.strip()[-300:]}"}
                    res = json.loads(out)
                    threads = json.loads((Path(res["run_dir"]) / "summary.json").read_text()).get(
                        "threads"
                    )
                    return {"status": "ok", "loop_s": res["seconds"], "threads": threads}

                return go

            got = interleaved_all(
                {
                    "default": run([]),
                    "one": run(["--threads", "1"]),
                    "all": run(["--threads", str(n_cores)]),
                },
                p["busy_reps"],
            )
    finally:
        busy.kill()
        busy.wait()
    for rows in got.values():
        for r in rows:
            if r["status"] != "ok":
                return {"status": r["status"]}
    med = {k: statistics.median(r["loop_s"] for r in rows) for k, rows in got.items()}
    return {
        "status": "ok",
        "iterations": p["busy_iterations"],
        "cores": n_cores,
        "default_s": med["default"],
        "threads_1_s": med["one"],
        "threads_all_s": med["all"],
        "default_over_1": med["default"] / med["one"],
        "all_over_1": med["all"] / med["one"],
        "default_threads": got["default"][0]["threads"],
        "times": {k: [r["loop_s"] for r in rows] for k, rows in got.items()},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "targets": {"default_over_1": 1.5},
    }


# =========================================================================== report


def fmt_s(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def table(res: dict) -> str:
    rows: list[tuple[str, str, str, str]] = []
    skipped = {"status": "not run (--only)"}
    w1 = res.get("w1", skipped)
    if w1["status"] == "ok":
        n = w1["iterations"]
        rows += [
            (
                f"W1 training loop ({n} it)",
                f"{fmt_s(w1['loop_yardstick_s'])} -> {fmt_s(w1['loop_nnctl_s'])}",
                f"{w1['loop_ratio']:.1f}x",
                ">= 50x",
            ),
            (
                f"W1 whole process ({n} it)",
                f"{fmt_s(w1['process_yardstick_s'])} -> {fmt_s(w1['process_nnctl_s'])}",
                f"{w1['process_ratio']:.1f}x",
                ">= 30x",
            ),
            ("W1 max |cost - yardstick|", f"{w1['max_cost_difference']:.1e}", "", "<= 1e-6"),
            (
                "W1 max param rel. difference",
                f"{w1['max_param_relative_difference']:.1e}",
                "",
                "<= 1e-6",
            ),
        ]
        tw1 = w1.get("torch", {"status": "not run"})
        if tw1["status"] == "ok":
            rows.append(
                (
                    f"W1 PyTorch {tw1['torch']} loop ({tw1['threads']} thr)",
                    fmt_s(tw1["loop_s"]),
                    f"nnctl {tw1['nnctl_speedup']:.1f}x faster",
                    "",
                )
            )
        else:
            rows.append(("W1 PyTorch loop", tw1["status"], "", ""))
    else:
        rows.append(("W1 cat_deep", w1["status"], "", ""))
    ideas = res.get("ideas", skipped)
    if ideas["status"] == "ok":
        for name, v in ideas["variants"].items():
            rows.append(
                (
                    f"idea: {name}",
                    f"{v['ms_per_iteration']:.2f} ms/it",
                    f"{v['speedup_vs_yardstick']:.1f}x",
                    f"({ideas['iterations']} it, set-up incl.)",
                )
            )
    if "startup" in res:
        st = res["startup"]
        rows.append(("start-up: python -c pass", fmt_s(st["python_-c_pass_s"]), "", "(floor)"))
        rows.append(("start-up: nnctl --help", fmt_s(st["help_s"]), "", "<= 0.3 s"))
        pr = st["predict"]
        rows.append(
            (
                "start-up: nnctl predict RUN img",
                fmt_s(pr["seconds"]) if pr["status"] == "ok" else pr["status"],
                "",
                "<= 0.6 s",
            )
        )
    else:
        rows.append(("start-up", skipped["status"], "", ""))
    w2 = res.get("w2", {"dtypes": {}})
    if not w2["dtypes"]:
        rows.append(("W2", skipped["status"], "", ""))
    for dtype, row in w2["dtypes"].items():
        label = f"W2 {dtype} ({w2['m']} x 784, {w2['epochs']} ep)"
        rows.append(
            (
                f"{label} matmul bound/epoch",
                f"{fmt_s(row['bound_1thread_epoch_s'])} (1 thr), "
                f"{fmt_s(row['bound_default_threads_epoch_s'])} (default thr)",
                "",
                "the faster is the bound",
            )
        )
        if row["status"] == "ok":
            thr = (row.get("threads") or {}).get("blas_threads")
            target = w2["targets"]["epoch_over_bound"][dtype]
            rows.append(
                (
                    f"{label} nnctl epoch ({thr or 'env'} thr)",
                    fmt_s(row["epoch_s"]),
                    f"{row['epoch_over_bound']:.2f}x bound",
                    f"<= {target}x",
                )
            )
            rows.append((f"{label} examples/s", f"{row['examples_per_s']:,.0f}", "", ""))
            c = row.get("numpy_passes")
            if c and c.get("status") == "ok":
                cthr = (c.get("threads") or {}).get("blas_threads")
                rows.append(
                    (
                        f"{label} numpy-pass updates ({cthr or 'env'} thr)",
                        fmt_s(c["epoch_s"]),
                        f"{c['epoch_over_bound']:.2f}x bound",
                        "(NNCTL_COMPILED=never)",
                    )
                )
            elif c:
                rows.append((f"{label} numpy-pass updates", c["status"], "", ""))
            rows.append(
                (
                    f"{label} whole process",
                    f"{fmt_s(row['process_s'])}",
                    f"loop + {fmt_s(row['process_overhead_s'])}",
                    "loop + <= 400 ms",
                )
            )
            rows.append(
                (
                    f"{label} peak RSS",
                    f"{row['peak_rss_bytes'] / 1e6:.0f} MB",
                    "",
                    f"< {row['rss_limit_bytes'] / 1e6:.0f} MB",
                )
            )
        else:
            rows.append((f"{label} epoch", row["status"], "", ""))
        t = row.get("torch")
        if t is not None and t["status"] == "ok":
            ratio = f"nnctl {t['nnctl_speedup']:.2f}x faster" if "nnctl_speedup" in t else ""
            rows.append(
                (
                    f"{label} PyTorch {t['torch']} epoch ({t['threads']} thr)",
                    fmt_s(t["epoch_s"]),
                    ratio,
                    "nnctl >= 1.5x faster",
                )
            )
            if "nnctl_numpy_speedup" in t:
                rows.append(
                    (
                        f"{label} PyTorch vs numpy-pass updates",
                        "",
                        f"nnctl {t['nnctl_numpy_speedup']:.2f}x faster",
                        "",
                    )
                )
        elif t is not None:
            rows.append((f"{label} PyTorch epoch", t["status"], "", ""))
    if w2["dtypes"] and w2.get("torch_status", "ok") != "ok":
        rows.append(("W2 PyTorch", w2["torch_status"], "", ""))
    if "float32_speedup" in w2:
        rows.append(
            ("W2 float32 speed-up over float64", "", f"{w2['float32_speedup']:.2f}x", ">= 1.6x")
        )
    busy = res.get("busy", skipped)
    if busy["status"] == "ok":
        n = busy["iterations"]
        thr = (busy.get("default_threads") or {}).get("blas_threads")
        rows.append(
            (
                f"busy: cat direct path, {n} it, default ({thr} thr)",
                fmt_s(busy["default_s"]),
                f"{busy['default_over_1']:.2f}x --threads 1",
                "<= 1.5x",
            )
        )
        rows.append(
            (f"busy: cat direct path, {n} it, --threads 1", fmt_s(busy["threads_1_s"]), "", "")
        )
        rows.append(
            (
                f"busy: cat direct path, {n} it, --threads {busy['cores']}",
                fmt_s(busy["threads_all_s"]),
                f"{busy['all_over_1']:.2f}x --threads 1",
                "(the old default)",
            )
        )
    else:
        rows.append(("busy machine", busy["status"], "", ""))
    bn = res.get("batchnorm", skipped)
    if bn["status"] == "ok":
        b = bn["float32"]
        rows.append(
            (
                f"batch norm: W2 float32 epoch ({bn['m']} x 784, {b['threads']} thr)",
                f"{fmt_s(b['plain_s'])} -> {fmt_s(b['batch_norm_s'])}",
                f"{b['ratio']:.2f}x plain",
                "<= 1.3x",
            )
        )
        st = b["step"]
        rows.append(
            (
                "batch norm: W2 float32 step (1 thr)",
                f"{st['plain_s'] * 1e3:.2f} -> {st['batch_norm_s'] * 1e3:.2f} ms",
                f"{st['ratio']:.2f}x plain",
                "<= 1.3x",
            )
        )
    else:
        rows.append(("batch norm", bn["status"], "", ""))
    est = res.get("estimators", skipped)
    if est["status"] == "ok":
        for r in est["rows"]:
            md, acc = r["median_s"], r["accuracy_mean"]
            rows.append(
                (
                    f"estimator {r['workload']}: fit vs nnctl.train",
                    f"{fmt_s(md['fit'])} vs {fmt_s(md['train'])}",
                    f"{r['fit_over_train']:.3f}x",
                    "<= 1.05x",
                )
            )
            rows.append(
                (
                    f"estimator {r['workload']}: MLPClassifier fit",
                    fmt_s(md["mlp"]),
                    f"nnctl {r['mlp_over_fit']:.2f}x faster",
                    "nnctl faster",
                )
            )
            n = len(r["accuracy"]["fit_glorot_uniform"])
            rows.append(
                (
                    f"estimator {r['workload']}: test accuracy ({n} seed{'s' * (n > 1)})",
                    f"{acc['fit_glorot_uniform']:.4f} vs MLP {acc['mlp']:.4f}",
                    f"{acc['fit_glorot_uniform'] - acc['mlp']:+.4f}",
                    ">= MLP's (same init)",
                )
            )
    else:
        rows.append(("estimators", est["status"], "", ""))
    stm = res.get("stream", skipped)
    if stm["status"] == "ok":
        rows.append(
            (
                f"stream: uint8 images epoch ({stm['m']} examples)",
                f"{fmt_s(stm['in_memory_epoch_s'])} in memory, "
                f"{fmt_s(stm['streamed_epoch_s'])} streamed",
                f"{stm['ratio']:.2f}x in-memory speed",
                ">= 0.9x",
            )
        )
    else:
        rows.append(("stream", stm["status"], "", ""))
    widths = [
        max(len(r[i]) for r in rows + [("measure", "value", "ratio", "target")]) for i in range(4)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("measure", "value", "ratio", "target"), widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="nnctl's benchmark suite (see docs/guides/performance.md)."
    )
    ap.add_argument("--quick", action="store_true", help="small workloads and few repetitions (CI)")
    ap.add_argument(
        "--output", type=Path, default=RESULTS, help="results file [default: bench/results.json]"
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="replace only the parts run in the results file (with --only), keeping the others",
    )
    ap.add_argument(
        "--reps",
        type=int,
        metavar="N",
        help="repetitions of each W1 comparison [default: 3, --quick: 2]",
    )
    ap.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="limit BLAS threads on both sides of every comparison (default: the machine's "
        "default, or 1 with --quick); the limit is recorded in results.json",
    )
    ap.add_argument(
        "--only",
        metavar="PARTS",
        type=lambda v: v.split(","),
        help=f"comma-separated parts to run, of {','.join(PARTS)} [default: all]",
    )
    ap.add_argument(
        "--peers",
        action="store_true",
        help="also run PyTorch (CPU) on W1 and W2 when torch is importable",
    )
    ap.add_argument("--yardstick-process", type=int, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--peer", choices=("torch-w1", "torch-w2"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dtype", help=argparse.SUPPRESS)
    ap.add_argument("--iterations", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer == "torch-w2":
        print(json.dumps(torch_w2(args.data, args.epochs, args.dtype, args.threads)))
        return 0
    if args.peer == "torch-w1":
        print(json.dumps(torch_w1(args.data_dir, args.iterations, args.threads)))
        return 0
    unknown = set(args.only or ()) - set(PARTS)
    if unknown:
        ap.error(
            f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}"
        )
    if args.yardstick_process is not None:
        yardstick_process(args.data_dir, args.yardstick_process)
        return 0

    sys.path.insert(0, str(ROOT))  # run from a checkout without installing, too
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other bench scripts
    p = dict(QUICK if args.quick else FULL)
    p["mode"] = "quick" if args.quick else "full"
    if args.reps:
        p["w1_reps"] = p["proc_reps"] = args.reps
    data_dir = cat_data_dir()
    env = dict(os.environ)
    if args.quick and args.threads is None:
        # CI machines are small and shared; spinning BLAS threads made a quick run take 76 s
        # instead of ~20 s on 2 busy cores. Timing is not the point of --quick.
        args.threads = 1
    p["blas_threads"] = args.threads
    p["peers"] = args.peers
    compiled = bool(env.pop("PYTHONDONTWRITEBYTECODE", None))
    if compiled:
        # This environment forbids writing bytecode, so every nnctl child process would compile
        # nnctl's ~60 modules from source (about 80 ms of each process here), which no installed
        # nnctl does (pip compiles them, or Python caches them at the first import; the
        # dependencies' bytecode is in site-packages already). The children may write it, and
        # nnctl's is compiled once (into its __pycache__ folders, which git ignores) before
        # anything is timed.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "nnctl")],
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
    p["bytecode"] = (
        "nnctl's compiled once before timing (PYTHONDONTWRITEBYTECODE was set)"
        if compiled
        else "as the environment has it"
    )
    if args.threads:
        import numpy  # noqa: F401 - threadpoolctl limits only the BLAS libraries already loaded
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")  # this process, for good
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(args.threads)  # child processes
    if data_dir is not None:
        env["NNCTL_DATA_DIR"] = str(data_dir)
        os.environ["NNCTL_DATA_DIR"] = str(data_dir)
    start = time.perf_counter()
    res = {
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "params": p,
        "parts": args.only or list(PARTS),
    }
    for name, fn in (
        ("w1", lambda: bench_w1(p, data_dir, env)),
        ("ideas", lambda: bench_ideas(p, data_dir)),
        ("startup", lambda: bench_startup(p, env, data_dir)),
        ("w2", lambda: bench_w2(p, env)),
        ("busy", lambda: bench_busy(p, env, data_dir)),
        ("batchnorm", lambda: bench_batchnorm(p)),
        ("estimators", lambda: bench_estimators(p)),
        ("stream", lambda: bench_stream(p)),
    ):
        if name not in res["parts"]:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        res[name] = fn()
    res["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    res["bench_seconds"] = time.perf_counter() - start
    written = res
    if args.merge and args.output.is_file():
        # the parts run replace theirs in the file; the others stay, and ``runs`` says which run
        # (machine, load, parameters) each part comes from
        written = json.loads(args.output.read_text())
        written.update({k: v for k, v in res.items() if k in PARTS})
        written.setdefault("runs", {})[",".join(res["parts"])] = {
            "machine": res["machine"],
            "params": res["params"],
            "bench_seconds": res["bench_seconds"],
        }
        written["parts"] = [k for k in PARTS if k in written]
    atomic_write_json(args.output, written)
    m = res["machine"]
    env_note = ", " + ", ".join(f"{k}={v}" for k, v in m["env"].items()) if m["env"] else ""
    load = f"{m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end"
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, "
        f"{m['blas']}{env_note}; load average {load}"
    )
    print(table(res))
    parts = "" if args.only is None else f" of {','.join(args.only)}"
    print(f"({res['mode']} run{parts}, {res['bench_seconds']:.0f} s; results in {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
