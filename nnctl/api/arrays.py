"""Arrays as data: X (m, n_features) rows and y labels (numbers or strings) or targets, checked
the way Python users expect (``DataValueError`` / ``DataTypeError``) and written as a data file
the own-data readers read, so a run trained from arrays is an ordinary run that ``nnctl
predict``, ``evaluate`` and ``train --resume`` use later.

Where they go: numeric labels (and regression targets) become an ``.npz`` archive with arrays
``x`` and ``y``; string labels a ``.csv`` file (columns x0 ... x{n-1}, then ``label``; the
reader takes the label names as the classes, sorted), with every float written to its shortest
exact repr, so both read back bit for bit. X is converted to float64 in both (as scikit-learn
does: an 8-bit X is not divided by 255 the way image files are). Training data files are named
by a SHA-256 of the arrays, in ``<runs_dir>/data/``: the same arrays are written once, and a run
keeps finding its data there as long as that folder stays beside it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.api.errors import DataTypeError, DataValueError

DATA_FOLDER = "data"
"""The folder of ``runs_dir`` that holds the data files of runs trained from arrays."""


def check_X(X: Any, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """X: (m, n_features) numbers (a numpy array, a list of rows, a pandas DataFrame) ->
    float64 (m, n_features). Raises DataTypeError (strings, objects) or DataValueError (not
    2-D, no examples or features, NaN or infinite values, not ``n_features`` columns)."""
    a = np.asarray(X)
    # strings are refused even when they read as numbers ("1.5"), as scikit-learn does
    refused = f"{name}: features must be numbers, got {_what(a)}; encode them as numbers first"
    if a.dtype.kind in "US":
        raise DataTypeError(refused)
    if a.dtype.kind == "O":
        a = _objects_as_floats(a, refused)
    if a.dtype.kind not in "buif":
        raise DataTypeError(f"{name}: features must be numbers, got {a.dtype}")
    if a.ndim != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if a.ndim == 1 else ""
        raise DataValueError(
            f"{name}: expected a 2-D array of shape (m, n_features), got shape {a.shape}{hint}"
        )
    if a.shape[0] == 0:
        raise DataValueError(f"{name}: no examples (m = 0)")
    if a.shape[1] == 0:
        raise DataValueError(f"{name}: examples have no features (shape {a.shape})")
    a = a.astype(np.float64, copy=False)
    bad = int(a.size - np.count_nonzero(np.isfinite(a)))
    if bad:
        raise DataValueError(f"{name}: {bad} NaN or infinite value(s); clean the data first")
    if n_features is not None and a.shape[1] != n_features:
        raise DataValueError(
            f"{name}: rows have {a.shape[1]} features, but the run expects {n_features}"
        )
    return a


def _what(a: np.ndarray) -> str:
    return "strings" if a.dtype.kind in "US" else f"{a.dtype} values"


def _objects_as_floats(a: np.ndarray, refused: str) -> np.ndarray:
    """An object array (a pandas column of mixed types) as float64, or DataTypeError(refused)
    when it holds strings or anything else that is no number."""
    if any(isinstance(v, (str, bytes)) for v in a.reshape(-1).tolist()):
        raise DataTypeError(refused)
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        raise DataTypeError(refused) from None


def check_y(y: Any, m: int, name: str = "y", x_name: str = "X") -> np.ndarray:
    """Labels (m,) as numbers or strings, or regression targets (m,) / (m, n_outputs) ->
    a numeric array as given, or a str array. Raises DataTypeError or DataValueError."""
    a = np.asarray(y)
    if a.dtype.kind == "O":
        items = a.reshape(-1).tolist()
        if items and all(isinstance(v, str) for v in items):
            a = a.astype(str)
        else:
            a = _objects_as_floats(
                a, f"{name}: labels must be numbers or strings, got a mix of {_types(items)}"
            )
    if a.dtype.kind == "S":
        a = a.astype(str)
    if a.dtype.kind not in "buifU":
        raise DataTypeError(f"{name}: labels must be numbers or strings, got {a.dtype}")
    if a.ndim == 0 or a.ndim > 2:
        raise DataValueError(
            f"{name}: expected labels of shape (m,) (or targets (m, n_outputs)), got {a.shape}"
        )
    if a.shape[0] != m:
        raise DataValueError(f"{x_name} has {m} examples but {name} has {a.shape[0]} labels")
    if a.dtype.kind == "U":
        if a.ndim == 2 and a.shape[1] != 1:
            raise DataValueError(f"{name}: string labels must be one column, got {a.shape}")
        a = a.reshape(-1)
        if any(not s.strip() for s in a.tolist()):
            raise DataValueError(f"{name}: an empty label")
    elif a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise DataValueError(f"{name}: NaN or infinite labels")
    return a


def _types(items: list) -> str:
    return ", ".join(sorted({type(v).__name__ for v in items}))


@dataclass(frozen=True)
class DataFile:
    """One split's arrays, checked, and the file that holds them: ``name`` (a content hash
    with the file's suffix) and its bytes, built when written."""

    X: np.ndarray
    y: np.ndarray

    @property
    def suffix(self) -> str:
        return ".csv" if self.y.dtype.kind == "U" else ".npz"

    @property
    def name(self) -> str:
        h = hashlib.sha256(self.suffix.encode())
        for a in (self.X, self.y):
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16] + self.suffix

    def content(self) -> bytes:
        if self.suffix == ".npz":
            buf = io.BytesIO()
            np.savez(buf, x=self.X, y=self.y)
            return buf.getvalue()
        text = io.StringIO(newline="")
        out = csv.writer(text, lineterminator="\n")
        out.writerow([*(f"x{j}" for j in range(self.X.shape[1])), "label"])
        # csv writes a float as its repr: the shortest text that reads back to the same bits
        out.writerows([*row, label] for row, label in zip(self.X.tolist(), self.y.tolist()))
        return text.getvalue().encode("utf-8")


def data_file(X: Any, y: Any, x_name: str = "X", y_name: str = "y") -> DataFile:
    """X and y checked as one split's data."""
    Xc = check_X(X, x_name)
    return DataFile(Xc, check_y(y, Xc.shape[0], y_name, x_name))


def write_data_file(data: DataFile, folder: Path) -> tuple[Path, bool]:
    """Writes ``data`` into ``folder`` (created) unless a file of the same arrays is there;
    returns its path and whether this call created it. Atomic: a reader sees a whole file or
    none."""
    from nnctl.runs import atomic_write

    path = folder / data.name
    if path.is_file():
        return path, False
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data.content())
    return path, True
