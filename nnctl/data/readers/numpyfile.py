"""NumPy files: a ``.npy`` array (features only, or one half of an ``{x: ..., y: ...}`` pair)
and ``.npz`` archives holding ``x``/``y`` (or ``X``/``Y``, or one ``*_x`` and one ``*_y``).
Always ``allow_pickle=False``; each array's header is checked before it is allocated."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from nnctl.data.readers.base import RawSplit, ReadOptions, check_data_array
from nnctl.system import DataError, quote, quote_list


def _header(f: IO[bytes], where: str, available: int) -> None:
    """Reads and checks a .npy header from ``f`` (left just after it)."""
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(f)
        else:
            shape, _, dtype = npformat.read_array_header_2_0(f)
    except ValueError as exc:
        raise DataError(f"{where}: not a .npy array: {exc}") from None
    check_data_array(where, shape, dtype, available)


def load_npy(path: Path) -> np.ndarray:
    """One .npy array, its header checked against memory and the file's size first."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            _header(f, str(path), size)
            f.seek(0)
            a = np.load(f, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the .npy array: {exc}") from None
    if not isinstance(a, np.ndarray):
        raise DataError(f"{path}: not a single .npy array")
    return a


def read_npy(path: Path, options: ReadOptions) -> RawSplit:
    """A single .npy: features only (labels come from a pair, see ``read_pair``)."""
    if options.need_labels:
        raise DataError(
            f"{path}: a .npy file holds one array; give the pair as "
            f"{{x: {path.name}, y: labels.npy}} or an .npz with arrays x and y"
        )
    return RawSplit(load_npy(path), None, None, path, path.name, "")


def read_pair(x_path: Path, y_path: Path, options: ReadOptions) -> RawSplit:
    """``{x: x.npy, y: y.npy}``: examples and labels from two .npy files."""
    return RawSplit(load_npy(x_path), load_npy(y_path), None, x_path, x_path.name, y_path.name)


def read_npz(path: Path, options: ReadOptions) -> RawSplit:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz archive: {exc}") from None
    with zf:
        members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        names = list(members)

        def pick(suffix: str, plain: tuple[str, ...], required: bool) -> str | None:
            given = options.spec.get("x_key" if suffix == "_x" else "y_key")
            if given is not None:
                if given not in members:
                    raise DataError(
                        f"{path}: no array {quote(given)}; the archive holds "
                        f"{quote_list(names) or 'none'}"
                    )
                return given
            found = [k for k in names if k in plain] or [k for k in names if k.endswith(suffix)]
            if len(found) == 1:
                return found[0]
            if not found and not required:
                return None
            raise DataError(
                f"{path}: expected one array named {' or '.join(plain)} (or one '*{suffix}'), "
                f"found {quote_list(names) or 'none'}"
            )

        x_key = pick("_x", ("x", "X"), True)
        y_key = pick("_y", ("y", "Y"), options.need_labels)
        arrays = {}
        for key in (x_key, y_key):
            if key is None:
                continue
            info = members[key]
            where = f"{path}: {key}"
            try:
                with zf.open(info) as f:
                    _header(f, where, info.file_size)
                with zf.open(info) as f:
                    arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DataError(f"{where}: cannot read: {exc}") from None
    return RawSplit(
        arrays[x_key], arrays.get(y_key) if y_key else None, None, path, x_key, y_key or ""
    )
