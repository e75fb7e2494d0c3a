"""Arrays as the library trains on them: scikit-learn's input checks (``check_inputs``), labels
encoded as class indices (``encode_labels``) and the in-memory ``Dataset`` that loading the
same arrays from a ``data.npz`` file gives (``in_memory``), bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_array

from nnctl.data import Dataset, prepare_x
from nnctl.sklearn.compat import check_sample_weight

FLOAT_DTYPES = (np.float64, np.float32)


def as_rows(X: Any) -> np.ndarray:
    """X: (m, n_x) validated rows as the data file stores them: C order (the file's layout, so
    the products see the same memory as a run that reads the file), a float dtype."""
    return np.ascontiguousarray(X)


def regression_targets(y: Any) -> np.ndarray:
    """y: (m,) or (m, n_out) real targets, checked finite and numeric; a single column (m, 1)
    as (m,)."""
    y = check_array(y, ensure_2d=False, dtype=FLOAT_DTYPES, input_name="y")
    return y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y


def check_weights(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
    """``sample_weight`` checked by scikit-learn's ``_check_sample_weight`` (one value per row
    of X, 1-D, finite, non-negative, not all zero: its ValueErrors) as float64 (m,); None
    stays None (every row weighs 1, the unweighted path)."""
    if sample_weight is None:
        return None
    w = check_sample_weight(sample_weight, X)
    if not np.any(w > 0):  # scikit-learn < 1.7 lets all-zero weights through
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Labels y: (m,) -> int64 indices into ``classes`` (sorted). Raises ValueError for a label
    that is not one of them."""
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        raise ValueError(
            f"y contains previously unseen labels: {y[bad][:5].tolist()}; "
            f"the classes are {classes.tolist()}"
        )
    return idx.astype(np.int64)


def class_names(n_classes: int) -> list[str]:
    """The run's class names for labels 0 .. K-1, as ``nnctl.data`` names numeric labels."""
    return [str(i) for i in range(max(2, n_classes))]


def in_memory(
    x: np.ndarray,
    y: np.ndarray,
    dtype: str,
    task: str,
    n_classes: int = 0,
    weights: np.ndarray | None = None,
) -> Dataset:
    """The ``Dataset`` that ``nnctl.data.load_dataset`` reads from a ``data.npz`` holding
    x: (m, n_x) and y (class indices (m,), or targets (m,) / (m, n_out)): X: (n_x, m) in
    ``dtype``, Y: (1, m) labels or (n_out, m) targets, no test split; ``weights``: (m,) the
    rows' sample weights (``Dataset.W_train``), or None."""
    float_type = np.dtype(dtype).type
    m = x.shape[0]
    if task == "regression":
        Y = np.asarray(y).reshape(m, -1).T.astype(np.float64).astype(float_type)
        classes: list[str] = []
    else:
        Y = np.asarray(y, dtype=np.int64).reshape(1, -1)
        classes = class_names(n_classes)
    return Dataset(
        X_train=prepare_x(x, 1.0, float_type),
        Y_train=Y,
        X_test=None,
        Y_test=None,
        classes=classes,
        input_shape=tuple(int(s) for s in x.shape[1:]),
        divide_by=1.0,
        kind="features",
        task=task,
        source_kind="npz",
        feature_rows=True,
        W_train=None if weights is None else np.array(weights, dtype=np.float64),
    )
