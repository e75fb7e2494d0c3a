"""Whether a config's data files are streamed (``streaming_plan``): ``dataset.stream: true``, or
automatically (with a notice) when the data in the run's dtype would not fit in
``NNCTL_MEMORY_SHARE`` (default 0.5) of the memory available (``too_big``). Full-batch training
needs every example at each step and is refused when the data cannot fit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.data.readers.base import RawSplit
from nnctl.data.stream.header import course_h5_header
from nnctl.system import ConfigError, DataError, available_memory, human_bytes

MEMORY_SHARE_ENV = "NNCTL_MEMORY_SHARE"
DEFAULT_MEMORY_SHARE = 0.5
# the memory taken as available when the machine does not tell (nothing then is too big)
UNKNOWN_MEMORY = 1 << 62


def memory_share() -> float:
    """The share of available memory a dataset may take in memory (``NNCTL_MEMORY_SHARE``)."""
    text = os.environ.get(MEMORY_SHARE_ENV)
    if not text:
        return DEFAULT_MEMORY_SHARE
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0 < v <= 1:
        raise ConfigError(
            f"{MEMORY_SHARE_ENV}={text}: expected a share of memory in (0, 1], e.g. 0.5"
        )
    return v


def too_big(headers: list[RawSplit], dtype: str) -> tuple[bool, str]:
    """(the arrays in ``dtype`` would not fit in the memory share, a description of the sizes).
    ``headers``: ``read_h5_header``'s, whose ``x`` is an ``H5Layout``."""
    itemsize = np.dtype(dtype).itemsize
    need = sum(h.x.m * h.x.n_x * itemsize for h in headers)  # type: ignore[attr-defined]
    avail, share = available_memory(), memory_share()
    if avail is None:
        avail = UNKNOWN_MEMORY
    what = (
        f"{human_bytes(need, decimal=True)} as {dtype}, more than {share:.0%} of the "
        f"{human_bytes(avail, decimal=True)} of memory available ({MEMORY_SHARE_ENV})"
    )
    return need > share * avail, what


@dataclass
class StreamPlan:
    stream: bool
    notes: list[str]


def streaming_plan(
    spec: dict[str, Any], config_file: str | None, source: str, dtype: str, batch_size: int | None
) -> StreamPlan:
    """Whether a config's data files are streamed, and the notices to show: ``spec`` is its
    ``dataset`` mapping, ``config_file`` the path relative names start from, ``source`` the name
    errors give, ``dtype`` and ``batch_size`` its keys. Reads only the files' headers. Raises
    ConfigError (stream: true without mini-batches) or DataError (data that cannot fit, for
    full-batch training)."""
    want = spec.get("stream")
    if "train" not in spec or want is False:
        return StreamPlan(False, [])
    headers = []
    for role in ("train", "val", "test"):
        if not spec.get(role):
            continue
        header = course_h5_header(spec[role], config_file)
        if header is None:  # an image folder, CSV, NumPy file or other HDF5 names: read whole
            if want:
                raise ConfigError(
                    f"{source}: dataset.stream: streaming reads HDF5 files with one *_x and "
                    f"one *_y array (as `nnctl data import` writes them); {spec[role]} is not one"
                )
            return StreamPlan(False, [])
        headers.append(header)
    m = headers[0].x.m  # type: ignore[attr-defined]
    big, what = too_big(headers, dtype)
    if want is None and not big:
        return StreamPlan(False, [])
    mini = batch_size is not None and batch_size < m
    if not mini:
        if want:
            raise ConfigError(
                f"{source}: dataset.stream: streaming trains on mini-batches, but batch_size "
                f"is {batch_size} for {m} training examples; set batch_size (e.g. 128)"
            )
        raise DataError(
            f"{headers[0].path}: the examples would take {what}; full-batch training needs "
            "every example in memory at each step, so set batch_size (e.g. 128) to stream it "
            "from disk"
        )
    notes = []
    if want is None:
        notes.append(
            f"{headers[0].path}: streaming the data from disk in mini-batches: the examples "
            f"would take {what}; set dataset.stream: true to always stream it"
        )
    for h in headers:
        problem = h.x.chunk_problem()  # type: ignore[attr-defined]
        if problem:
            notes.append(
                f"{h.path}: {h.x_key} is {problem}; streaming works, but a file written by "
                "`nnctl data import` (chunked along the example axis) streams faster"
            )
    return StreamPlan(True, notes)
