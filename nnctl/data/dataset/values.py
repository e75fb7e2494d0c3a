"""What the arrays read from a split's file hold, checked before they are laid out: numeric
examples, all finite (``all_finite``), labels that are whole class numbers in range
(``validate_labels``) or real targets (``validate_targets``); and whether an array is mapped
from its file rather than held in memory (``is_mapped``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.data.readers.base import RawSplit
from nnctl.system import DataError, quote_list


def is_mapped(x: Any) -> bool:
    """True when the array x (or the array it is a view of) is mapped read-only from a data file
    (``readers.hdf5.map_contiguous``) rather than held in the process's memory: its values
    live in the page cache, which the memory estimate does not count (``resources``)."""
    import mmap

    base = x
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def all_finite(x: np.ndarray) -> bool:
    """True when no value of the float array x is NaN or infinite.

    A sum is NaN or infinite when any term is (NaN propagates; inf + -inf is NaN), so a finite
    sum proves every value finite in one reduction pass with no temporary array, where
    ``np.isfinite(x).all()`` writes a boolean array as large as x and reads it again
    (measured: docs/developers/measured-data.md). Only when the sum is not finite (a bad value,
    or finite values whose sum overflows) are the values looked at one by one, a block at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x)):
            return True
    flat = x.reshape(-1)  # a view for the arrays read from files (C order)
    step = 1 << 16
    return all(np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step))


def _check_x_shape(raw: RawSplit) -> None:
    x = raw.x
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise DataError(
            f"{raw.path}: {raw.x_key}: expected a numeric array (m, ...), got {x.dtype} {x.shape}"
        )


def check_x(raw: RawSplit) -> None:
    x, where = raw.x, raw.path
    _check_x_shape(raw)
    if x.shape[0] == 0:
        raise DataError(f"{where}: {raw.x_key}: no examples (m = 0)")
    if 0 in x.shape[1:]:
        raise DataError(f"{where}: {raw.x_key}: examples have no features (shape {x.shape})")
    # a streamed file's x (nnctl.data.stream) is checked block by block as it is read
    if x.dtype.kind == "f" and isinstance(x, np.ndarray) and not all_finite(x):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise DataError(
            f"{where}: {raw.x_key}: {bad} NaN or infinite value(s); clean the data first"
        )


def validate_targets(raw: RawSplit) -> np.ndarray:
    """Checks one file's arrays for regression; returns the targets as float64 (n_out, m).
    The ``*_y`` array holds one row per example: (m,) for one output, (m, n_out) for several."""
    check_x(raw)
    y, where, m = np.asarray(raw.y), raw.path, raw.x.shape[0]
    _check_targets_shape(raw, y)
    if not np.all(np.isfinite(y)):
        raise DataError(f"{where}: {raw.y_key}: NaN or infinite targets; clean the data first")
    return y.reshape(m, -1).T.astype(np.float64)


def validate_labels(raw: RawSplit) -> np.ndarray:
    """Checks one file's arrays; returns the labels as int64 (m,)."""
    y, where = raw.y, raw.path
    check_x(raw)
    y = _label_vector(raw, np.asarray(y))
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataError(f"{where}: {raw.y_key}: NaN or infinite labels")
    if y.dtype.kind not in "uifb" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise DataError(
            f"{where}: {raw.y_key}: labels must be whole class numbers, got {y.dtype} "
            "(for real-valued targets use a linear output, loss mean_squared_error)"
        )
    _check_count(raw, y)
    n_classes = len(raw.classes) if raw.classes else 2
    # labels read compactly (a streamed file's uint8) stay so; others become int64. The range
    # check looks at the extremes first, so a valid file's labels are not copied again.
    yi = y if y.dtype.kind == "u" and y.dtype.itemsize == 1 else y.astype(np.int64)
    if yi.size and (yi.min() < 0 or yi.max() >= n_classes):
        outside = yi[(yi < 0) | (yi >= n_classes)]
        raise DataError(
            f"{where}: {raw.y_key}: label {outside[0]} is outside the classes 0..{n_classes - 1}"
            + (f" ({quote_list(raw.classes)})" if raw.classes else "")
        )
    return yi


def _check_targets_shape(raw: RawSplit, y: np.ndarray) -> None:
    m = raw.x.shape[0]
    if y.dtype.kind not in "uif" or y.ndim not in (1, 2) or y.shape[0] != m:
        raise DataError(
            f"{raw.path}: {raw.y_key}: expected real-valued targets of shape ({m},) or "
            f"({m}, n_outputs) for the {m} examples of {raw.x_key}, got {y.dtype} {y.shape}"
        )


def _label_vector(raw: RawSplit, y: np.ndarray) -> np.ndarray:
    """Labels as read, (m,), (1, m) or (m, 1) -> (m,); any other shape is refused."""
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1:
        raise DataError(f"{raw.path}: {raw.y_key}: expected labels of shape (m,), got {y.shape}")
    return y


def _check_count(raw: RawSplit, y: np.ndarray) -> None:
    if raw.x.shape[0] != y.shape[0]:
        raise DataError(
            f"{raw.path}: {raw.x_key} has {raw.x.shape[0]} examples but {raw.y_key} has "
            f"{y.shape[0]} labels"
        )


def per_example(raw: RawSplit, task: str | None = None) -> RawSplit:
    """``raw`` checked to hold one label (or row of targets) per example, so that rows drawn
    from it (a test set split off with ``test_fraction``) are whole examples. Shapes only, before
    anything is split: raises the DataError that ``validate_labels`` (``task`` classification)
    or ``validate_targets`` (regression) gives a file whose x and y differ in length; labels
    read as (1, m) or (m, 1) come back as (m,). ``task`` None (``data inspect``, which reads
    either): labels or rows of targets, only their count checked."""
    if task is not None or raw.x.ndim == 0:  # inspect describes any x it can count
        _check_x_shape(raw)
    if raw.y is None:
        return raw
    y = np.asarray(raw.y)
    if task == "regression":
        _check_targets_shape(raw, y)
        return raw
    if task is not None or y.ndim != 2 or y.shape[0] == 1:  # read as labels
        y = _label_vector(raw, y)
    _check_count(raw, y)
    raw.y = y
    return raw
