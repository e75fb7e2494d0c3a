"""Synthetic datasets: the course's planar flower and other two-dimensional generators
(``SYNTHETIC``), drawn from a seeded RandomState, with an optional test split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.data.dataset.container import Dataset
from nnctl.system import DataError


def planar(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """The course's two-class flower: X (2, m), y (m,). With RandomState(1), m=400 and noise
    0.2 these are the course's ``load_planar_dataset()`` points exactly."""
    a = 4
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=np.int64)
    sizes = [m - m // 2, m // 2]
    start = 0
    for j, N in enumerate(sizes):
        ix = slice(start, start + N)
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * noise
        r = a * np.sin(4 * t) + rng.randn(N) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
        start += N
    return X.T, y


def moons(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons), gaussian noise added."""
    n_out = m - m // 2
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, m // 2)
    X = np.vstack(
        [
            np.c_[np.cos(t_out), np.sin(t_out)],
            np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5],
        ]
    )
    X += rng.randn(m, 2) * noise
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(m // 2, dtype=np.int64)]
    return X.T, y


def circles(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (class 0) around one of radius 0.5 (class 1), gaussian noise added."""
    n_out = m - m // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, m // 2, endpoint=False)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], 0.5 * np.c_[np.cos(t_in), np.sin(t_in)]])
    X += rng.randn(m, 2) * noise
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(m // 2, dtype=np.int64)]
    return X.T, y


def spiral(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms, one class each (CS231n's spiral): X (2, m), y (m,).

    Arm j's points run out from the centre at radius r in [0, 1] and angle 4(r + j) plus
    gaussian noise; no straight line separates the arms.
    """
    K = 3
    sizes = [m // K + (1 if j < m % K else 0) for j in range(K)]
    X, y = [], []
    for j, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, n) + rng.randn(n) * noise
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n, j, dtype=np.int64))
    return np.vstack(X).T, np.concatenate(y)


def sine(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Regression: x uniform in [-pi, pi], target sin(x) + gaussian noise. X (1, m), y (1, m)."""
    x = rng.uniform(-np.pi, np.pi, m)
    return x.reshape(1, -1), (np.sin(x) + rng.randn(m) * noise).reshape(1, -1)


@dataclass(frozen=True)
class Synthetic:
    generate: Callable[[int, float, np.random.RandomState], tuple[np.ndarray, np.ndarray]]
    noise: float  # default noise scale
    classes: tuple[str, ...]  # empty for a regression generator
    task: str = "classification"  # or "regression": generate returns real targets (n_out, m)


SYNTHETIC: dict[str, Synthetic] = {
    "planar": Synthetic(planar, 0.2, ("red", "blue")),
    "moons": Synthetic(moons, 0.2, ("upper", "lower")),
    "circles": Synthetic(circles, 0.1, ("outer", "inner")),
    "spiral": Synthetic(spiral, 0.2, ("arm0", "arm1", "arm2")),
    "sine": Synthetic(sine, 0.1, (), task="regression"),
}


def load_synthetic(spec: dict[str, Any], dtype: type) -> Dataset:
    gen = SYNTHETIC[spec["synthetic"]]
    rng = np.random.RandomState(spec["seed"])
    noise = gen.noise if spec.get("noise") is None else spec["noise"]  # None: a hand-built spec
    X, y = gen.generate(spec["m"], noise, rng)
    m = X.shape[1]
    n_test = int(round(m * spec["test_fraction"]))
    if n_test and m - n_test < 1:
        raise DataError(
            f"dataset: test_fraction {spec['test_fraction']} leaves no training examples"
        )
    X = X.astype(dtype)
    Y = y.astype(dtype) if gen.task == "regression" else y.reshape(1, -1)
    if spec.get("stratify") and gen.task == "regression":
        raise DataError(
            f"dataset: stratify: {spec['synthetic']} has real-valued targets (regression), "
            "which have no classes to keep in proportion; remove stratify"
        )
    if n_test and spec.get("stratify"):
        from nnctl.data.dataset.files import stratified_split

        train, test = stratified_split(y, spec["test_fraction"], rng)
    elif n_test:
        # drawn after the points, so the points themselves don't depend on test_fraction
        perm = rng.permutation(m)
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    if n_test:
        X_tr, Y_tr, X_te, Y_te = X[:, train], Y[:, train], X[:, test], Y[:, test]
    else:
        X_tr, Y_tr, X_te, Y_te = X, Y, None, None
    return Dataset(
        X_train=np.ascontiguousarray(X_tr),
        Y_train=Y_tr,
        X_test=None if X_te is None else np.ascontiguousarray(X_te),
        Y_test=Y_te,
        classes=list(gen.classes),
        input_shape=(X.shape[0],),
        divide_by=1.0,
        kind="features",
        sources=[
            {
                "role": "train+test",
                "synthetic": spec["synthetic"],
                "m": m,
                "seed": spec["seed"],
                "noise": noise,
                "test_fraction": spec["test_fraction"],
                **({"stratify": True} if spec.get("stratify") else {}),
            }
        ],
        task=gen.task,
    )
