"""Dataset readers: one entry per kind of file or folder a dataset path may name.

``KINDS`` maps a kind's name to its ``Kind``: how to recognise it from the path (a folder, a
suffix, a file signature) and how to read it into a ``RawSplit`` (x: (m, ...) raw values, y:
(m,) labels or (m, n_out) targets). ``data.load_dataset`` validates and lays out what a
reader returns; a new kind is one entry here (and its test).

Every reader checks the sizes a file *declares* (HDF5 dataset shapes, ``.npy`` headers) before
allocating anything, so a file claiming an absurd shape is refused in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnctl.data.readers.base import (
    OnProgress,
    RawSplit,
    ReadOptions,
    check_data_array,
    memory_limit,
)
from nnctl.system import DataError

__all__ = [
    "KINDS",
    "Kind",
    "OnProgress",
    "RawSplit",
    "ReadOptions",
    "check_data_array",
    "kind_of",
    "memory_limit",
    "read_source",
]


@dataclass(frozen=True)
class Kind:
    """One kind of dataset source. ``matches(path, head)``: True when the path (and its first
    bytes, ``head``; b"" for a folder) is of this kind. ``read(path, options)`` -> RawSplit.
    ``features``: True for feature rows (``normalize: auto`` standardizes them)."""

    matches: Callable[[Path, bytes], bool]
    read: Callable[[Path, ReadOptions], RawSplit]
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
    return path.suffix.lower() in (".csv", ".tsv", ".txt") or (
        not path.suffix and bool(head) and b"\0" not in head
    )


def _read_folder(path: Path, options: ReadOptions) -> RawSplit:
    from nnctl.data.readers.folder import read_folder

    return read_folder(path, options)


def _read_hdf5(path: Path, options: ReadOptions) -> RawSplit:
    from nnctl.data.readers.hdf5 import read_hdf5

    return read_hdf5(path, options)


def _read_npy(path: Path, options: ReadOptions) -> RawSplit:
    from nnctl.data.readers.numpyfile import read_npy

    return read_npy(path, options)


def _read_npz(path: Path, options: ReadOptions) -> RawSplit:
    from nnctl.data.readers.numpyfile import read_npz

    return read_npz(path, options)


def _read_csv(path: Path, options: ReadOptions) -> RawSplit:
    from nnctl.data.readers.csvfile import read_csv

    return read_csv(path, options)


# Checked in order: the first kind whose ``matches`` says yes reads the path.
KINDS: dict[str, Kind] = {
    "images": Kind(
        _folder, _read_folder, "a folder with one subfolder of images per class", features=False
    ),
    "hdf5": Kind(
        _hdf5,
        _read_hdf5,
        "HDF5: *_x/*_y, x/y or X/Y arrays (or x_key/y_key), optional list_classes",
        features=False,
    ),
    "npy": Kind(_npy, _read_npy, "NumPy .npy: features only, or {x: x.npy, y: y.npy}"),
    "npz": Kind(_npz, _read_npz, "NumPy .npz with arrays x/y (or *_x/*_y)"),
    "csv": Kind(
        _csv, _read_csv, "CSV with a header; label column (default the last), optional features"
    ),
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
    raise DataError(
        f"{path}: unknown kind of data file; nnctl reads {', '.join(KINDS)}: "
        "name the kind with dataset.kind"
    )


def read_source(path: Path, options: ReadOptions) -> RawSplit:
    """Reads one dataset path with the kind it is. The returned RawSplit's ``kind`` names it."""
    name = options.spec.get("kind") or kind_of(path)
    raw = KINDS[name].read(path, options)
    raw.kind = name
    return raw
