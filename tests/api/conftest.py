"""What the API tests share: a tiny config as a dict (the moons network of ``MOONS_SMALL``),
small arrays with numeric and string labels, and a run trained from each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import MOONS_SMALL


@pytest.fixture
def moons_cfg() -> dict:
    """MOONS_SMALL as a dict (the keys of a config file)."""
    return yaml.safe_load(MOONS_SMALL)


@pytest.fixture
def net() -> dict:
    """A config without a dataset, for arrays: 3 features -> 6 relu -> sigmoid."""
    return {
        "layer_dims": ["auto", 6, 1],
        "activations": ["relu", "sigmoid"],
        "init": "he",
        "learning_rate": 0.3,
        "iterations": 60,
    }


@pytest.fixture
def arrays() -> tuple[np.ndarray, np.ndarray]:
    """X: (120, 3) rows, y: (120,) 0/1 labels from the sign of a linear score."""
    rng = np.random.RandomState(3)
    X = rng.randn(120, 3)
    return X, (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)


@pytest.fixture
def array_run(net: dict, arrays, runs_dir: Path):
    import nnctl

    X, y = arrays
    return nnctl.train(net, X=X[:90], y=y[:90], X_test=X[90:], y_test=y[90:], runs_dir=runs_dir)
