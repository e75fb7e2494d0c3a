"""Helpers shared by the tests (imported as ``helpers``; ``tests/`` is on pytest's path):
the project's paths, small configs, the course's forward pass written out by hand, and the
modules for subprocess runs (``proc``), the course's numbers (``course``), hostile inputs
(``hostile``), own-data projects (``owndata``), report runs (``reportruns``) and the
diagnosis cases (``diagnoseruns``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIGS = ROOT / "configs"
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def cat_data_dir() -> Path | None:
    """The folder holding both cat files: data/ first, then $NNCTL_DATA_DIR."""
    for d in (ROOT / "data", Path(os.environ.get("NNCTL_DATA_DIR", ""))):
        if all((d / f).is_file() for f in CAT_FILES):
            return d
    return None


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


MOONS_SMALL = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 300
print_every: 100
"""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def hand_forward(run: Path, X: np.ndarray) -> np.ndarray:
    """The course's L_model_forward for [relu]* -> sigmoid, written out here so predictions are
    checked against code that does not share nnctl's. X: (n_x, m) -> AL: (m,)."""
    with np.load(run / "params.npz") as z:
        p = {k: z[k] for k in z.files}
    L = len(p) // 2
    A = X
    for l in range(1, L):
        A = np.maximum(0, p[f"W{l}"] @ A + p[f"b{l}"])
    return _sigmoid(p[f"W{L}"] @ A + p[f"b{L}"])[0]
