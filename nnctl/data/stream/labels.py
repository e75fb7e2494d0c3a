"""A streamed file's labels: read compactly (``read_labels``), and looked at for the class order
streaming's shuffle cannot undo (``class_order_notice``), a slice at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

LABEL_SLICE = 1 << 20  # labels read (and looked at) this many at a time
# A file whose neighbouring labels differ this much less often than in a random order is taken
# to be stored by class: a streamed window (a few blocks) then holds mostly one class.
CLASS_ORDER_SHARE = 0.05


def read_labels(ds: Any) -> np.ndarray:
    """A ``*_y`` array's values. Whole class numbers (an integer type, 1-D) that fit in one
    byte are read a slice at a time into uint8: a streamed file's labels then take one byte
    an example instead of the file's eight, and never exist in the file's type whole. Anything
    else is read as stored (and checked by ``data``)."""
    if ds.ndim != 1 or np.dtype(ds.dtype).kind not in "iub":
        return ds[()]
    out = np.empty(ds.shape[0], dtype=np.uint8)
    for a in range(0, ds.shape[0], LABEL_SLICE):
        part = ds[a : a + LABEL_SLICE]
        if part.size and (part.min() < 0 or part.max() > 255):
            return ds[()]  # many classes, or labels out of range: data's checks word the error
        out[a : a + part.size] = part
    return out


def class_order_notice(Y: np.ndarray, path: Path) -> str | None:
    """A notice when the labels Y: (1, m) of a streamed file are stored in long runs of one
    class (neighbouring labels differ less than ``CLASS_ORDER_SHARE`` of the times a random
    order would make them differ), else None."""
    y = np.asarray(Y).reshape(-1)
    m = y.size
    if m < 2:
        return None
    counts = np.zeros(int(y.max()) + 1)
    changes = 0
    for a in range(0, m, LABEL_SLICE):  # in slices: nothing the size of the labels is made
        part = y[a : a + LABEL_SLICE + 1]
        counts += np.bincount(part[:LABEL_SLICE], minlength=counts.size)
        changes += int(np.count_nonzero(part[1:] != part[:-1]))
    p = counts / m
    expected = (m - 1) * (1 - float(np.sum(p * p)))
    if expected < 1 or changes >= CLASS_ORDER_SHARE * expected:
        return None
    return (
        f"{path}: the examples are stored in class order ({changes + 1} runs of one class in "
        f"{m} examples); a streamed batch mixes only a few neighbouring blocks, so most batches "
        "hold one class and training suffers; write the file shuffled "
        "(nnctl data import --shuffle SEED)"
    )
