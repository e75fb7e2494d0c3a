"""A dataset whose examples stay in their files (``load_streamed``): every X an ``H5Columns``,
labels and targets read, with the checks of ``data.load_dataset``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.data.dataset import Dataset, load_files
from nnctl.data.readers.base import RawSplit
from nnctl.data.stream.batches import WINDOW
from nnctl.data.stream.columns import H5Columns
from nnctl.data.stream.header import read_h5_header
from nnctl.data.stream.labels import class_order_notice


def load_streamed(
    spec: dict[str, Any], dtype: str, task: str, config_file: str | None = None
) -> Dataset:
    """The dataset of ``spec``'s files with every X an ``H5Columns`` (labels and targets are
    read; examples stay in the files). Same checks and Y as ``data.load_dataset``."""

    def as_x(raw: RawSplit, divide_by: float, float_type: type) -> H5Columns:
        return H5Columns(raw.x, divide_by, float_type)  # type: ignore[arg-type]

    ds = load_files(spec, np.dtype(dtype).type, task, config_file, read=read_h5_header, as_x=as_x)
    X = ds.X_train
    # one window holds the whole file: every batch is drawn from all of it, in any order
    several_windows = len(X.plan) - 1 > WINDOW  # type: ignore[attr-defined]
    note = (
        class_order_notice(ds.Y_train, X.layout.path)
        if task != "regression" and several_windows
        else None
    )  # type: ignore[attr-defined]
    if note:
        ds.notes.append(note)
    return ds
