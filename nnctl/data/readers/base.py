"""What every reader shares: ``RawSplit`` (one source's arrays as stored), ``ReadOptions`` and
``check_data_array`` (sizes a file declares, refused before anything is allocated)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.system import DataError

OnProgress = Callable[[int, int], None]  # (done, total) while a reader decodes files


@dataclass
class ReadOptions:
    """What a reader may need besides the path: the ``dataset`` keys that tune reading, the
    task (class labels or real targets), ``need_labels`` (False: predict's unlabelled rows),
    ``classes`` (a run's class names, for labelled files read against it), a progress callback
    and the warnings collected for the caller to show."""

    spec: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"
    need_labels: bool = True
    on_progress: OnProgress | None = None
    warnings: list[str] = field(default_factory=list)
    lenient: bool = (
        False  # inspect: a CSV cell that is no number becomes NaN (counted, not refused)
    )
    # training's loader: an HDF5 float x stored contiguously is mapped read-only from the file
    # instead of copied into memory (``readers.hdf5.map_contiguous``)
    map_x: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        value = self.spec.get(key)
        return default if value is None else value


@dataclass
class RawSplit:
    """One file's arrays as stored: x: (m, ...) raw values, y: (m,) labels (None: unlabelled
    rows for predict). ``kind``: the ``readers.KINDS`` entry that read it; ``named``: the labels
    index ``classes``, names this file's own (CSV strings, class folders), which a test file
    maps onto the training file's by name; ``files``: an image folder's files, per example."""

    x: np.ndarray
    y: np.ndarray | None
    classes: list[str] | None
    path: Path
    x_key: str
    y_key: str
    kind: str = "hdf5"
    named: bool = False
    files: list[Path] | None = None
    columns: list[str] | None = None  # a CSV's feature column names


# --------------------------------------------------------------------------- declared sizes


def memory_limit() -> int:
    """Bytes one array a file declares may take: the machine's physical memory (8 GiB when it
    cannot be told), or $NNCTL_MAX_ARRAY_BYTES."""
    env = os.environ.get("NNCTL_MAX_ARRAY_BYTES")
    if env and env.isdigit():
        return int(env)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_data_array(
    where: str, shape: tuple[int, ...], dtype: np.dtype, available: int | None = None
) -> None:
    """Refuses an array a data file declares before it is allocated: a dtype holding Python
    objects, a negative shape, more bytes than this machine's memory (``memory_limit``, checked
    by ``nnctl.system.check_declared`` as run files are), or (``available``: bytes the file holds
    for it) more bytes than the file has. ``where`` names the file and array. Raises DataError."""
    from nnctl.system import DeclaredTooLarge, check_declared, human_bytes

    if dtype.hasobject:
        raise DataError(
            f"{where}: holds Python objects (dtype {dtype}); nnctl reads numeric arrays "
            "only and never unpickles data"
        )
    if any(int(s) < 0 for s in shape):
        raise DataError(f"{where}: declares a negative shape {tuple(shape)}")
    limit = memory_limit()
    try:
        nbytes = check_declared(
            shape,
            dtype,
            limit,
            where,
            limit_text=f"this machine's memory ({human_bytes(limit)}); refusing to read it",
        )
    except DeclaredTooLarge as exc:
        raise DataError(str(exc)) from None
    if available is not None and nbytes > available:
        raise DataError(
            f"{where}: declares shape {tuple(int(s) for s in shape)} of {dtype} "
            f"({human_bytes(nbytes)}) but the file holds only {human_bytes(available)}; "
            "it is truncated or damaged"
        )
