"""Feature normalization (the config's ``normalize``): statistics computed from the training
split only, recorded in the run as plain numbers (``preprocessing.steps`` in summary.json),
and applied the same way by train, predict, evaluate and the exported ONNX graph.

A step is ``{"op": "subtract", "value": [n_x floats]}`` or ``{"op": "divide", "by": [n_x
floats]}``, applied in order to X: (n_x, m) after the pixel scaling (``divide_by``); the format
``nnctl.commands.export`` documents.

- ``standard``: subtract each feature's mean, divide by its standard deviation;
- ``minmax``: subtract each feature's minimum, divide by its range (values in [0, 1]);
- ``none``: nothing (images keep the course's ``/255`` only).

A constant feature divides by 1 rather than 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("auto", "standard", "minmax", "none")
SCALE_RATIO = (
    100.0  # features whose spreads differ more than this get a warning without normalization
)
SPREAD_SAMPLE = 16384  # examples (at least) the scale warning looks at


def resolve(method: str, feature_rows: bool) -> str:
    """``auto`` -> ``standard`` for CSV and NumPy feature rows, ``none`` for images, HDF5 files
    and the synthetic generators (whose course numbers are made on raw values)."""
    if method != "auto":
        return method
    return "standard" if feature_rows else "none"


def fit_steps(
    X: np.ndarray, method: str, weights: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """The steps of ``method`` with statistics of X: (n_x, m), the training split. Computed in
    float64 whatever X's dtype. ``weights``: (m,) per-example weights >= 0: the weighted mean
    and standard deviation (as scikit-learn's ``StandardScaler`` with ``sample_weight``), the
    minimum and maximum of the examples of positive weight, so that integer weights give the
    statistics of the examples repeated."""
    if method == "none":
        return []
    if method not in ("standard", "minmax"):
        raise ValueError(f"unknown normalize method {method!r}")
    if hasattr(
        X, "feature_statistics"
    ):  # streamed from a file (nnctl.data.stream): read block by block
        shift, scale = X.feature_statistics(method)
    elif weights is not None:
        shift, scale = _weighted_statistics(np.asarray(X, dtype=np.float64), method, weights)
    else:
        X64 = np.asarray(X, dtype=np.float64)
        if method == "standard":
            shift, scale = X64.mean(axis=1), X64.std(axis=1)
        else:
            shift = X64.min(axis=1)
            scale = X64.max(axis=1) - shift
    scale = np.where(scale > 0, scale, 1.0)  # a constant feature: nothing to divide
    return [{"op": "subtract", "value": shift.tolist()}, {"op": "divide", "by": scale.tolist()}]


def _weighted_statistics(
    X64: np.ndarray, method: str, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) of X64: (n_x, m) with examples weighed by weights: (m,)."""
    w = np.asarray(weights, dtype=np.float64)
    if method == "standard":
        mean = np.average(X64, axis=1, weights=w)
        var = np.average((X64 - mean[:, None]) ** 2, axis=1, weights=w)
        return mean, np.sqrt(var)
    kept = X64[:, w > 0]
    shift = kept.min(axis=1)
    return shift, kept.max(axis=1) - shift


def apply_steps(X: np.ndarray, steps: list[dict[str, Any]]) -> np.ndarray:
    """X: (n_x, m) -> the normalized X: (n_x, m) in X's dtype (a new array when there are steps;
    a streamed X applies them as it reads each block)."""
    if hasattr(X, "with_steps"):
        return X.with_steps(steps) if steps else X
    for step in steps:
        if step["op"] == "subtract":
            X = X - np.asarray(step["value"], dtype=X.dtype).reshape(-1, 1)
        elif step["op"] == "divide":
            X = X / np.asarray(step["by"], dtype=X.dtype).reshape(-1, 1)
        else:
            raise ValueError(f"unknown preprocessing step {step['op']!r}")
    return X


def scale_warning(X: np.ndarray, where: str) -> str | None:
    """One warning line when the features of X: (n_x, m) have spreads differing by more than
    ``SCALE_RATIO`` (gradient descent then crawls along the small ones)."""
    if X.shape[0] < 2 or X.shape[1] < 2:
        return None
    # a heuristic against a 100x threshold: evenly spaced examples estimate each spread well
    # enough, and a large X is not read twice just for a warning (docs/developers/measured-data.md)
    step = max(1, X.shape[1] // SPREAD_SAMPLE)
    spread = feature_spreads(X[:, ::step] if step > 1 else X)
    spread = spread[spread > 0]
    if spread.size < 2 or spread.max() <= SCALE_RATIO * spread.min():
        return None
    return (
        f"{where}: feature spreads differ by a factor of {spread.max() / spread.min():,.0f} "
        "and normalize is none; training will be slow or stall; set normalize: standard"
    )


def feature_spreads(X: np.ndarray, block: int = 1024) -> np.ndarray:
    """(n_x,) float64 standard deviation of each feature (row) of X: (n_x, m), computed a
    block of ``block`` examples at a time (mean first, then squared deviations), equal to
    ``np.asarray(X, np.float64).std(axis=1)`` to rounding. The whole-array form made two float64
    arrays as large as X (their cost: docs/developers/measured-data.md); this one reuses one
    block buffer and reads a dataset mapped from its file (``readers.hdf5``) without copying it."""
    n, m = X.shape
    total = np.zeros(n)
    for a in range(0, m, block):
        total += X[:, a : a + block].sum(axis=1, dtype=np.float64)
    mean = (total / m).reshape(-1, 1)
    # column-major like the loaders' X (each example's features contiguous): the block
    # operations then walk both arrays in memory order
    buf = np.empty((n, min(block, m)), order="F")
    squares = np.zeros(n)
    for a in range(0, m, block):
        Xb = X[:, a : a + block]
        d = buf[:, : Xb.shape[1]]
        np.subtract(Xb, mean, out=d)
        np.multiply(d, d, out=d)
        squares += d.sum(axis=1)
    return np.sqrt(squares / m)
