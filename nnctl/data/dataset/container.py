"""``Dataset``: a run's examples laid out as X: (n_x, m) with their labels or targets, and what
``predict`` needs to prepare new inputs the same way (``preprocessing``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.system import DataError


@dataclass
class Dataset:
    """X_*: (n_x, m) in the run's dtype; Y_*: (1, m) integer class labels (0 .. K-1) when
    ``task`` is "classification", (n_out, m) real targets in the run's dtype for "regression".
    X_val/Y_val: a validation set (from ``dataset.val`` or held out of the training set)."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    classes: list[str]
    input_shape: tuple[int, ...]  # one example before flattening, e.g. (64, 64, 3)
    divide_by: float  # raw values are divided by this (255 for uint8 images, else 1)
    kind: str  # "image" or "features"
    sources: list[dict[str, Any]] = field(default_factory=list)
    task: str = "classification"
    X_val: np.ndarray | None = None
    Y_val: np.ndarray | None = None
    source_kind: str = "synthetic"  # the readers.KINDS entry that read the training data
    feature_rows: bool = False  # CSV / NumPy feature rows: ``normalize: auto`` standardizes them
    warnings: list[str] = field(default_factory=list)  # for the user (skipped files, scales)
    test_rows: np.ndarray | None = None  # (m_test,) rows of the training source (test_fraction)
    normalize: str = "none"  # standard | minmax | none, as applied (``nnctl.data.normalize``)
    steps: list[dict[str, Any]] = field(
        default_factory=list
    )  # its statistics, from the training split
    label: str | None = None  # a CSV's label column when the config named none (the last column)
    notes: list[str] = field(default_factory=list)  # notices for the user (e.g. streamed from disk)
    # per-example weights (m_train,) and (m_val,), float64 >= 0 (scikit-learn's sample_weight);
    # None: every example weighs 1. Training, the validation loss and the normalization
    # statistics weigh the examples by them.
    W_train: np.ndarray | None = None
    W_val: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[0])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) of 'train', 'val' or 'test'."""
        if name == "val":
            if self.X_val is None:
                raise DataError("this dataset has no validation set")
            return self.X_val, self.Y_val  # type: ignore[return-value]
        if name == "test":
            if self.X_test is None:
                raise DataError("this dataset has no test set")
            return self.X_test, self.Y_test  # type: ignore[return-value]
        return self.X_train, self.Y_train

    def preprocessing(self) -> dict[str, Any]:
        """What predict needs to turn a new input into a column of X; with a normalization,
        its name and steps (statistics of the training split, see ``nnctl.data.normalize``)."""
        pre = {
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "divide_by": self.divide_by,
            "color_mode": _color_mode(self.input_shape) if self.kind == "image" else None,
            "classes": self.classes,
            "task": self.task,
        }
        if self.normalize != "none":
            pre.update(normalize=self.normalize, steps=self.steps)
        return pre


def _color_mode(shape: tuple[int, ...]) -> str:
    if len(shape) == 2 or shape[-1] == 1:
        return "L"
    return {3: "RGB", 4: "RGBA"}.get(shape[-1], "RGB")
