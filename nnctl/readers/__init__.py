"""Dataset readers: one entry per kind of file or folder a dataset path may name.

``KINDS`` maps a kind's name to its ``Kind``: how to recognise it from the path (a folder, a
suffix, a file signature) and how to read it into a ``RawSplit`` (x: (m, ...) raw values, y:
(m,) labels or (m, n_out) targets). ``data.load_dataset`` validates and lays out what a
reader returns; a new kind is one entry here (and its test).

Every reader checks the sizes a file *declares* (HDF5 dataset shapes, ``.npy`` headers) before
allocating anything, so a file claiming an absurd shape is refused in one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from nnctl.errors import DataError

if TYPE_CHECKING:
    from nnctl.data import RawSplit

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
    lenient: bool = False  # inspect: a CSV cell that is no number becomes NaN (counted, not refused)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.spec.get(key)
        return default if value is None else value


@dataclass(frozen=True)
class Kind:
    """One kind of dataset source. ``matches(path, head)``: True when the path (and its first
    bytes, ``head``; b"" for a folder) is of this kind. ``read(path, options)`` -> RawSplit.
    ``features``: True for feature rows (``normalize: auto`` standardizes them)."""

    matches: Callable[[Path, bytes], bool]
    read: Callable[[Path, ReadOptions], "RawSplit"]
    doc: str
    features: bool = True


def _folder(path: Path, head: bytes) -> bool:
    return path.is_dir()


def _hdf5(path: Path, head: bytes) -> bool:
    return head.startswith(b"\x89HDF\r\n\x1a\n") or path.suffix.lower() in (".h5", ".hdf5")


def _npy(path: Path, head: bytes) -> bool:
    return head.startswith(b"\x93NUMPY") or (not head and path.suffix.lower() == ".npy")


def _npz(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".npz" or head.startswith(b"PK\x03\x04")


def _csv(path: Path, head: bytes) -> bool:
    # a text file with no suffix too (an export named "data"); other suffixes are other kinds'
    return path.suffix.lower() in (".csv", ".tsv", ".txt") or (not path.suffix and bool(head) and b"\0" not in head)


def _read_folder(path: Path, options: ReadOptions) -> "RawSplit":
    from nnctl.readers.folder import read_folder

    return read_folder(path, options)


def _read_hdf5(path: Path, options: ReadOptions) -> "RawSplit":
    from nnctl.readers.hdf5 import read_hdf5

    return read_hdf5(path, options)


def _read_npy(path: Path, options: ReadOptions) -> "RawSplit":
    from nnctl.readers.numpyfile import read_npy

    return read_npy(path, options)


def _read_npz(path: Path, options: ReadOptions) -> "RawSplit":
    from nnctl.readers.numpyfile import read_npz

    return read_npz(path, options)


def _read_csv(path: Path, options: ReadOptions) -> "RawSplit":
    from nnctl.readers.csvfile import read_csv

    return read_csv(path, options)


# Checked in order: the first kind whose ``matches`` says yes reads the path.
KINDS: dict[str, Kind] = {
    "images": Kind(_folder, _read_folder, "a folder with one subfolder of images per class", features=False),
    "hdf5": Kind(_hdf5, _read_hdf5, "HDF5: *_x/*_y, x/y or X/Y arrays (or x_key/y_key), optional list_classes",
                 features=False),
    "npy": Kind(_npy, _read_npy, "NumPy .npy: features only, or {x: x.npy, y: y.npy}"),
    "npz": Kind(_npz, _read_npz, "NumPy .npz with arrays x/y (or *_x/*_y)"),
    "csv": Kind(_csv, _read_csv, "CSV with a header; label column (default the last), optional features"),
}


def kind_of(path: Path) -> str:
    """The name of the kind that reads ``path`` (a folder, or a file by signature and suffix).
    Raises DataError when none does."""
    head = b""
    if not path.is_dir():
        try:
            with open(path, "rb") as f:
                head = f.read(512)
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    for name, kind in KINDS.items():
        if kind.matches(path, head):
            return name
    raise DataError(f"{path}: unknown kind of data file; nnctl reads {', '.join(KINDS)}: "
                    "name the kind with dataset.kind")


def read_source(path: Path, options: ReadOptions) -> "RawSplit":
    """Reads one dataset path with the kind it is. The returned RawSplit's ``kind`` names it."""
    name = options.spec.get("kind") or kind_of(path)
    raw = KINDS[name].read(path, options)
    raw.kind = name
    return raw


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


def check_declared(where: str, shape: tuple[int, ...], dtype: np.dtype, available: int | None = None) -> None:
    """Refuses an array a file declares before it is allocated: a dtype holding Python objects,
    more bytes than memory allows, or (``available``: bytes the file holds for it) more bytes
    than the file has. ``where`` names the file and array."""
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects (dtype {dtype}); nnctl reads numeric arrays "
                        "only and never unpickles data")
    if any(int(s) < 0 for s in shape):
        raise DataError(f"{where}: declares a negative shape {tuple(shape)}")
    nbytes = int(np.prod([int(s) for s in shape], dtype=object)) * dtype.itemsize
    limit = memory_limit()
    if nbytes > limit:
        raise DataError(f"{where}: declares shape {tuple(int(s) for s in shape)} of {dtype} "
                        f"({_size(nbytes)}), more than this machine's memory ({_size(limit)}); refusing to read it")
    if available is not None and nbytes > available:
        raise DataError(f"{where}: declares shape {tuple(int(s) for s in shape)} of {dtype} "
                        f"({_size(nbytes)}) but the file holds only {_size(available)}; it is truncated or damaged")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
