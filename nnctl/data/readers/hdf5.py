"""HDF5 files: the course's ``*_x``/``*_y`` arrays (any prefix), arrays named plainly ``x``/``y``
(or ``X``/``Y``), or the arrays ``x_key``/``y_key`` name; ``list_classes`` when present.
Shapes and dtypes are checked as declared, before any array is read.

With ``ReadOptions.map_x`` (training's loader), a float ``x`` stored contiguously and
uncompressed in the machine's byte order is not read but mapped read-only from the file
(``map_contiguous``): the values are the same bytes, and the process allocates nothing for them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.readers.base import RawSplit, ReadOptions, check_data_array
from nnctl.system import DataError, open_regular, quote, quote_list


@dataclass(frozen=True)
class ArrayNaming:
    """How a file's example and label arrays are found when no key names them: the one array
    ending ``_x`` (``_y``), else the one named in ``plain_x`` (``plain_y``); ``hint`` ends the
    error that lists the arrays found."""

    plain_x: tuple[str, ...]
    plain_y: tuple[str, ...]
    hint: str


# What the kinds table reads (``read_hdf5``): *_x/*_y, x/y or X/Y, or the keys named.
ANY_NAMES = ArrayNaming(
    ("x", "X"),
    ("y", "Y"),
    "; arrays named x and y (or X and Y) work too, "
    "or name them with dataset.x_key and dataset.y_key",
)
# What streaming reads (``nnctl.data.stream``): the course's one *_x and one *_y.
COURSE_NAMES = ArrayNaming((), (), "")


def _pick(
    names: list[str],
    given: str | None,
    suffix: str,
    plain: tuple[str, ...],
    path: Path,
    what: str,
    required: bool,
    hint: str,
) -> str | None:
    if given is not None:
        if given not in names:
            raise DataError(
                f"{path}: no array {quote(given)} ({what}); the file holds "
                f"{quote_list(names) or 'none'}"
            )
        return given
    found = [k for k in names if k.endswith(suffix)] or [k for k in names if k in plain]
    if len(found) == 1:
        return found[0]
    if not found and not required:
        return None
    raise DataError(
        f"{path}: expected exactly one '*_x' and one '*_y' array, "
        f"found {quote_list(names) or 'none'}{hint}"
    )


def array_keys(
    f: Any,
    path: Path,
    naming: ArrayNaming = ANY_NAMES,
    x_key: str | None = None,
    y_key: str | None = None,
    need_labels: bool = True,
) -> tuple[list[str], str, str | None]:
    """The header of the open h5py file ``f`` (``path``): (its top-level arrays, the key of
    its examples, the key of its labels, None when it has none and ``need_labels`` is False).
    ``x_key``/``y_key`` name them, else ``naming`` finds them. Reads no array. Raises
    DataError (no such arrays, several, or a link nnctl does not follow)."""
    names = _array_names(f, path)
    found_x = _pick(names, x_key, "_x", naming.plain_x, path, "x_key", True, naming.hint)
    found_y = _pick(names, y_key, "_y", naming.plain_y, path, "y_key", need_labels, naming.hint)
    assert found_x is not None  # required
    return names, found_x, found_y


def read_classes(f: Any, names: list[str], path: Path) -> list[str] | None:
    """The class names of the file's ``list_classes`` (its size checked first), None when
    ``names`` (``array_keys``'s) has none."""
    if "list_classes" not in names:
        return None
    lc = f["list_classes"]
    check_data_array(f"{path}: list_classes", lc.shape, lc.dtype)
    return _class_names(lc, path)


def read_hdf5(path: Path, options: ReadOptions) -> RawSplit:
    """x: (m, ...) as stored, y: as stored (checked later), classes from ``list_classes``."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError:
        raise DataError(f"{path}: not a readable HDF5 file") from None
    with f:
        names, x_key, y_key = array_keys(
            f,
            path,
            ANY_NAMES,
            options.spec.get("x_key"),
            options.spec.get("y_key"),
            options.need_labels,
        )
        try:
            for key in (x_key, y_key):
                if key is not None:
                    dset = f[key]
                    check_data_array(f"{path}: {key}", dset.shape, dset.dtype)
            x = map_contiguous(f[x_key], path) if options.map_x else None
            if x is None:
                x = f[x_key][()]
            y = f[y_key][()] if y_key is not None else None
            classes = read_classes(f, names, path)
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(f"{path}: cannot read arrays: {exc}") from None
    return RawSplit(x, y, classes, path, x_key, y_key or "")


def map_contiguous(dset: Any, path: Path) -> np.ndarray | None:
    """The values of the h5py dataset ``dset`` of the file ``path`` as a read-only array mapped
    from the file (an ndarray view of an ``np.memmap``, same shape and dtype), or None when they
    cannot be mapped and must be read: not floating point (uint8 pixels are converted anyway),
    not in this machine's byte order, chunked, compressed or filtered, stored in another file
    (external storage), never written, empty, or a header that places the values (offset and
    size) outside the file. Why map: reading copies the whole array into freshly allocated memory,
    and on a virtual machine the first touch of that memory can cost as much as the read
    (measured: docs/developers/measured-data.md); a map shares the file's page cache.

    The one risk: a file truncated while it is mapped makes reading the lost pages a SIGBUS
    (docs/guides/own-data.md, "Datasets mapped from their file"). Everything that could be
    checked beforehand is.
    """
    import h5py

    dtype = np.dtype(dset.dtype)
    if dtype.kind != "f" or not dtype.isnative or dset.size == 0:
        return None
    try:
        plist = dset.id.get_create_plist()
        if (
            plist.get_layout() != h5py.h5d.CONTIGUOUS
            or plist.get_external_count()
            or plist.get_nfilters()
        ):
            return None
        offset = dset.id.get_offset()
        stored = dset.id.get_storage_size()
    except (OSError, ValueError, TypeError, RuntimeError):
        return None
    nbytes = int(dset.size) * dtype.itemsize
    if offset is None or stored != nbytes:  # never written, or a header disagreeing with itself
        return None
    return map_region(path, int(offset), tuple(int(s) for s in dset.shape), dtype)


def map_region(
    path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray | None:
    """``shape`` values of ``dtype`` (C order) at byte ``offset`` of the file ``path``, mapped
    read-only, or None when that region is not wholly inside the file (checked on the open
    descriptor that is mapped, so a lying header cannot make a read past the end: a SIGBUS)."""
    nbytes = math.prod(shape) * dtype.itemsize
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if offset < 0 or nbytes <= 0 or offset + nbytes > size:
                return None
            mapped = np.memmap(fh, dtype=dtype, mode="r", offset=offset, shape=shape)
    except (OSError, ValueError):  # e.g. the file shrank between the check and the map
        return None
    # a plain ndarray view: pickles (sweep workers) and computes like any array; its base
    # chain keeps the map open and tells ``data.is_mapped`` where the values live
    return mapped.view(np.ndarray)


def _array_names(f: Any, path: Path) -> list[str]:
    """The file's top-level arrays. An external link (to another file, which nnctl would
    then read unasked) or a link to nothing is refused naming it; groups are skipped."""
    import h5py

    names = []
    for k in f.keys():
        link = f.get(k, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise DataError(
                f"{path}: {k} is an external link to {link.filename}:{link.path}; "
                "nnctl reads only arrays stored in the file itself"
            )
        obj = f.get(k)  # None for a soft link to nothing
        if obj is None:
            raise DataError(
                f"{path}: {k} is a link to {getattr(link, 'path', '?')}, which does not exist"
            )
        if isinstance(obj, h5py.Dataset):
            names.append(k)
        elif k == "list_classes":
            raise DataError(f"{path}: list_classes is a group; expected a 1-D array of class names")
    return names


def _class_names(ds: Any, path: Path) -> list[str]:
    """``list_classes``: a non-empty 1-D array of names (bytes or text) or numbers."""
    if ds.ndim != 1 or ds.shape[0] == 0:
        got = "a scalar" if ds.ndim == 0 else f"shape {ds.shape}"
        raise DataError(
            f"{path}: list_classes: expected a non-empty 1-D array of class names, got {got}"
        )
    return [c.decode(errors="replace") if isinstance(c, bytes) else str(c) for c in ds[()]]
