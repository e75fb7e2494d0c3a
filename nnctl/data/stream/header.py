"""A course-style HDF5 file's header, read without its examples: the ``*_x`` array's layout,
the labels and ``list_classes`` (``read_h5_header``); which dataset values name such a file
(``course_h5_header``); a few examples read by row (``read_rows``).

The arrays are found by the kinds table's own HDF5 header reader
(``nnctl.data.readers.hdf5.array_keys``) with the course's naming only: one ``*_x`` and one
``*_y`` array. Files named otherwise are read whole by the kinds table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.dataset import resolve_path
from nnctl.data.readers.base import RawSplit
from nnctl.data.readers.hdf5 import COURSE_NAMES, array_keys, read_classes
from nnctl.data.stream.labels import read_labels
from nnctl.data.stream.layout import H5Layout
from nnctl.system import DataError

# A file may compress its examples, but not by more than this: a header declaring more raw
# bytes than this many times the file's size is damaged or hostile, and is left to the
# reader's declared-size check rather than streamed.
MAX_COMPRESSION = 1000


def read_h5_header(path: Path, labels: bool = True) -> RawSplit:
    """Like ``data.read_h5`` but reads only the labels and ``list_classes``: ``x`` is the
    ``H5Layout`` of the ``*_x`` array (dtype, ndim, shape), whose values stay in the file.
    ``labels`` False leaves the labels unread too (``y`` None: whether to stream needs only
    sizes)."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError:
        raise DataError(f"{path}: not a readable HDF5 file") from None
    with f:
        names, x_key, y_key = array_keys(f, path, COURSE_NAMES)
        assert y_key is not None  # labels are required
        try:
            dx = f[x_key]
            layout = H5Layout(
                path,
                x_key,
                tuple(int(s) for s in dx.shape),
                np.dtype(dx.dtype),
                None if dx.chunks is None else tuple(int(c) for c in dx.chunks),
            )
            y = read_labels(f[y_key]) if labels else None
            classes = read_classes(f, names, path)
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(f"{path}: cannot read arrays: {exc}") from None
    return RawSplit(layout, y, classes, path, x_key, y_key)  # type: ignore[arg-type]


def course_h5_header(value: Any, config_file: str | None) -> RawSplit | None:
    """The header (``read_h5_header``, without labels) of a course-style HDF5 file named by a
    dataset value that could be streamed; None for anything else (folders, other kinds, other
    array names, broken links, implausible declared sizes): those are read whole, by the kinds
    table, which words the error."""
    if not isinstance(value, str):
        return None
    path = resolve_path(value, config_file)
    if path.is_dir():
        return None
    try:
        header = read_h5_header(path, labels=False)
    except (DataError, KeyError, OSError, TypeError, ValueError):
        return None
    layout = header.x
    declared = layout.m * layout.n_x * layout.dtype.itemsize  # type: ignore[attr-defined]
    if declared > MAX_COMPRESSION * path.stat().st_size + (1 << 20):
        return None
    return header


def read_rows(path: Path, rows: np.ndarray) -> list[np.ndarray]:
    """The raw examples ``rows`` of a file's ``*_x`` array, read one by one (for a few)."""
    import h5py

    key = read_h5_header(path, labels=False).x_key
    with h5py.File(path, "r") as f:
        return [f[key][int(r)] for r in rows]
