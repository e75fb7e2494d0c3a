#!/usr/bin/env python3
"""The scikit-learn benchmark: ``python bench/estimators.py [--quick]`` (needs the sklearn extra).

Prints a table on stdout and writes ``bench/estimators_results.json`` (with the machine and its
load average before and after: numbers of a shared machine mean little without them).

For each workload the same network (layers, ReLU, Adam, learning rate, batch size, epochs,
standardized inputs) is trained three ways, interleaved (A B C A B C ...), the median of the
repetitions:

  fit     ``nnctl.sklearn.NNClassifier(...).fit(X, y)``: in memory, no files
  train   ``nnctl.train(config, X=X, y=y)``: the Python API, writing a run directory
  mlp     scikit-learn's ``MLPClassifier`` with the same layers, solver, batch, epochs (no early
          stopping: ``n_iter_no_change`` past the last epoch)

Workloads:
  K1  digits (scikit-learn's bundled 1797 x 64, 10 classes), [64, 64, 10], batch 64
  K2  breast cancer (569 x 30, 2 classes), [30, 16, 1] (MLP: its logistic output), batch 32
  K3  W2 (60000 x 784 synthetic, 10 classes, [784, 256, 128, 10], batch 128; --full only)

Initialization: fit and train use ``init: glorot_uniform``, scikit-learn's own (Glorot uniform
weights; nnctl's biases start at zero, scikit-learn draws them from the same uniform), so the
timed rows compare like with like.

Accuracy: test accuracy (a stratified 25% split) over 5 seeds (the network's seed; the split
fixed), mean and the per-seed values, of four fits that cross the two implementations with the
two initializations:

  fit_glorot_uniform  nnctl, init glorot_uniform (zero biases)
  fit_he              nnctl, init he (the estimators' default): He normal, zero biases
  mlp                 MLPClassifier as shipped: Glorot uniform weights and biases
  mlp_he              MLPClassifier with nnctl's he initialization (He normal weights, zero
                      biases; its private ``_init_coef`` overridden, for this comparison only)

Nothing is asserted: the targets (fit within 1.05x of train, faster than mlp, accuracy at least
mlp's) are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "estimators_results.json"
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def workloads(full: bool) -> dict[str, dict]:
    from sklearn.datasets import load_breast_cancer, load_digits

    out = {
        "K1 digits": dict(data=load_digits(return_X_y=True), hidden=(64,), batch=64, epochs=60),
        "K2 breast cancer": dict(
            data=load_breast_cancer(return_X_y=True), hidden=(16,), batch=32, epochs=100
        ),
    }
    if full:
        rng = np.random.default_rng(0)
        centers = rng.normal(size=(10, 784))
        y = rng.integers(0, 10, size=60000)
        X = centers[y] + rng.normal(scale=4.0, size=(60000, 784))
        out["K3 W2"] = dict(data=(X, y), hidden=(256, 128), batch=128, epochs=2)
    return out


def split(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


INIT = "glorot_uniform"  # MLPClassifier's initialization, for the timed rows


def he_mlp_class():
    """MLPClassifier initialized as nnctl's ``he``: W ~ N(0, 2 / fan_in), b = 0."""
    from sklearn.neural_network import MLPClassifier

    class HeMLPClassifier(MLPClassifier):
        def _init_coef(self, fan_in, fan_out, dtype):
            coef = self._random_state.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            return coef.astype(dtype, copy=False), np.zeros(fan_out, dtype=dtype)

    return HeMLPClassifier


def estimators(w: dict, seed: int, init: str = INIT, mlp_class=None):
    from sklearn.neural_network import MLPClassifier

    from nnctl.sklearn import NNClassifier

    common = dict(hidden_layer_sizes=w["hidden"], learning_rate=1e-3, batch_size=w["batch"])
    ours = NNClassifier(
        **common,
        epochs=w["epochs"],
        optimizer="adam",
        normalize="none",
        init=init,
        random_state=seed,
    )
    mlp = (mlp_class or MLPClassifier)(
        hidden_layer_sizes=w["hidden"],
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=w["batch"],
        max_iter=w["epochs"],
        n_iter_no_change=w["epochs"] + 1,
        tol=0.0,
        alpha=0.0,
        random_state=seed,
    )
    return ours, mlp


def api_config(w: dict, n_classes: int, seed: int) -> dict:
    out = (n_classes, "softmax") if n_classes > 2 else (1, "sigmoid")
    return {
        "layer_dims": ["auto", *w["hidden"], out[0]],
        "activations": {"hidden": "relu", "output": out[1]},
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "batch_size": w["batch"],
        "epochs": w["epochs"],
        "init": INIT,
        "normalize": "none",
        "seed": seed,
    }


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(name: str, w: dict, reps: int, seeds: int, runs_dir: Path) -> dict:
    import nnctl

    Xtr, Xte, ytr, yte = split(*w["data"])
    n_classes = len(np.unique(ytr))
    times: dict[str, list[float]] = {"fit": [], "train": [], "mlp": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP's ConvergenceWarning: it runs every epoch by design
        for _ in range(reps):
            ours, mlp = estimators(w, 1)
            times["fit"].append(timed(lambda ours=ours: ours.fit(Xtr, ytr)))
            cfg = api_config(w, n_classes, 1)
            times["train"].append(
                timed(lambda cfg=cfg: nnctl.train(cfg, X=Xtr, y=ytr, runs_dir=runs_dir))
            )
            times["mlp"].append(timed(lambda mlp=mlp: mlp.fit(Xtr, ytr)))
        acc: dict[str, list[float]] = {k: [] for k in ACCURACY_FITS}
        he_mlp = he_mlp_class()
        for seed in range(seeds):
            ours, mlp = estimators(w, seed, INIT)
            acc["fit_glorot_uniform"].append(float(ours.fit(Xtr, ytr).score(Xte, yte)))
            acc["mlp"].append(float(mlp.fit(Xtr, ytr).score(Xte, yte)))
            ours, mlp = estimators(w, seed, "he", he_mlp)
            acc["fit_he"].append(float(ours.fit(Xtr, ytr).score(Xte, yte)))
            acc["mlp_he"].append(float(mlp.fit(Xtr, ytr).score(Xte, yte)))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "workload": name,
        "m_train": int(len(ytr)),
        "n_features": int(Xtr.shape[1]),
        "hidden": list(w["hidden"]),
        "batch_size": w["batch"],
        "epochs": w["epochs"],
        "init": INIT,
        "seconds": times,
        "median_s": med,
        "fit_over_train": med["fit"] / med["train"],
        "mlp_over_fit": med["mlp"] / med["fit"],
        "accuracy": acc,
        "accuracy_mean": {k: statistics.fmean(v) for k, v in acc.items()},
    }


ACCURACY_FITS = ("fit_glorot_uniform", "mlp", "fit_he", "mlp_he")


def machine() -> dict:
    """bench/run.py's machine record (CPU, cores, Python, numpy, BLAS), and scikit-learn's
    version."""
    import sklearn

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import machine as bench_machine

    return {**bench_machine(), "scikit-learn": sklearn.__version__}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one repetition, 2 seeds (CI)")
    p.add_argument("--full", action="store_true", help="also K3 (W2, a few minutes)")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    reps, seeds = (1, 2) if args.quick else (5, 5)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, w in workloads(args.full).items():
            rows.append(bench(name, w, reps, seeds, Path(tmp) / "runs"))
    res = {
        "mode": "quick" if args.quick else "full" if args.full else "default",
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "rows": rows,
    }
    args.output.write_text(json.dumps(res, indent=1) + "\n")
    m = res["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, numpy {m['numpy']}, scikit-learn {m['scikit-learn']}")
    print(f"timed: fit and train with init {INIT}")
    print(
        f"{'workload':18} {'fit s':>8} {'train s':>8} {'mlp s':>8} "
        f"{'fit/train':>10} {'mlp/fit':>8}  accuracy: "
        "fit glorot_u / mlp glorot_u / fit he / mlp he"
    )
    for r in rows:
        md, a = r["median_s"], r["accuracy_mean"]
        accs = " / ".join(f"{a[k]:.4f}" for k in ACCURACY_FITS)
        print(
            f"{r['workload']:18} {md['fit']:8.3f} {md['train']:8.3f} {md['mlp']:8.3f} "
            f"{r['fit_over_train']:10.2f} {r['mlp_over_fit']:8.2f}  {accs}"
        )
    print("targets: fit/train <= 1.05, mlp/fit > 1, acc fit >= acc mlp (same init)")
    print(f"load average {load_before[0]:.2f} before, {res['load_average_after'][0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
