"""Blocks of a streamed ``*_x`` array read into caller's buffers (``BlockReader``): straight from
the file's bytes with ``os.preadv`` where the array is stored plainly (``plain_extents``), else
through h5py's ``read_direct``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.data.stream.layout import H5Layout
from nnctl.system import DataError

# A chunked array is read straight from the file when its chunks can be listed in at most this
# many entries (24 bytes each while listing); beyond, through HDF5.
MAX_DIRECT_CHUNKS = 1 << 22


@dataclass(frozen=True)
class PlainExtents:
    """Where the rows of a ``*_x`` array stored plainly (uncompressed, native byte order,
    contiguous or chunked along the example axis only) lie in its file: rows
    ``starts[i] .. starts[i] + rows - 1`` are ``rows * row_bytes`` consecutive bytes from
    ``offsets[i]``."""

    starts: np.ndarray  # (n,) first row of each extent, ascending
    offsets: np.ndarray  # (n,) its byte offset in the file
    rows: int  # rows per extent: the chunk's (the last may hold fewer of the array's rows), or m


def plain_extents(ds: Any, layout: H5Layout, file_size: int) -> PlainExtents | None:
    """The extents of h5py dataset ``ds`` (``layout``) when its bytes can be read straight from
    the file; None when HDF5 must decode them (filters such as compression, another byte
    order, chunks that split examples, unwritten chunks) or when the header's offsets do not
    fit in the file (a damaged or hostile file is then read, and refused, by HDF5)."""
    dt = layout.dtype
    if not dt.isnative or dt.kind not in "biuf" or layout.m == 0 or layout.row_bytes == 0:
        return None
    try:
        if layout.chunks is None:
            offset = ds.id.get_offset()
            if offset is None:
                return None
            ext = PlainExtents(np.zeros(1, np.int64), np.array([offset], np.int64), layout.m)
        else:
            if (
                tuple(layout.chunks[1:]) != tuple(layout.shape[1:])
                or ds.id.get_create_plist().get_nfilters()
            ):
                return None
            rows = int(layout.chunks[0])
            n = -(-layout.m // rows)
            if (
                n > MAX_DIRECT_CHUNKS or ds.id.get_num_chunks() != n
            ):  # too many to list, or some never written
                return None
            # three numbers a chunk, in arrays (a list of tuples would take ten times the memory)
            table = np.full((n, 3), -1, np.int64)  # first row, byte offset, bytes
            seen = [0]

            def note(info: Any) -> None:
                if seen[0] < n:
                    table[seen[0]] = (info.chunk_offset[0], info.byte_offset, info.size)
                seen[0] += 1

            ds.id.chunk_iter(note)
            table = table[np.argsort(table[:, 0], kind="stable")]
            if (
                seen[0] != n
                or not np.array_equal(table[:, 0], np.arange(0, layout.m, rows))
                or np.any(table[:, 2] != rows * layout.row_bytes)
            ):
                return None
            ext = PlainExtents(table[:, 0].copy(), table[:, 1].copy(), rows)
    except (AttributeError, OSError, RuntimeError, TypeError, ValueError):
        return None  # an HDF5 without chunk iteration, or a header it cannot answer for
    span = ext.rows * layout.row_bytes
    if ext.offsets.size and (
        int(ext.offsets.min()) < 0 or int(ext.offsets.max()) + span > file_size
    ):
        return None
    return ext


class BlockReader:
    """Reads blocks of a block plan (``block_plan``) of a ``*_x`` array into caller's buffers.

    An array stored plainly (``plain_extents``) is read with ``os.preadv`` straight from the
    file's bytes into the buffer: one system call per chunk, with the GIL released, no HDF5
    machinery in between, and ``advise`` can ask the kernel to start reading the next blocks
    while this one is used, so a cold file has several reads in flight. Anything else goes
    through h5py's ``read_direct`` (HDF5 decodes it). Both give the same bytes (tested).
    """

    def __init__(self, layout: H5Layout, plan: np.ndarray) -> None:
        import h5py

        self.layout, self.plan = layout, plan
        self.fd: int | None = None
        self.h5: Any = None
        try:
            self.h5 = h5py.File(layout.path, "r")
            self.ds = self.h5[layout.x_key]
            self.extents = plain_extents(self.ds, layout, layout.path.stat().st_size)
            if self.extents is not None:
                self.fd = os.open(layout.path, os.O_RDONLY)
        except OSError as exc:
            raise DataError(f"{layout.path}: cannot read {layout.x_key}: {exc}") from None

    @property
    def direct(self) -> bool:
        """True when blocks are read straight from the file's bytes."""
        return self.fd is not None

    def _spans(self, a: int, b: int) -> Iterator[tuple[int, int, int]]:
        """(first row, rows, byte offset) of each piece of rows a..b-1 that is contiguous in the
        file."""
        ext = self.extents
        assert ext is not None
        i = int(np.searchsorted(ext.starts, a, side="right")) - 1
        r = a
        while r < b:
            start = int(ext.starts[i])
            end = min(b, start + ext.rows)
            yield r, end - r, int(ext.offsets[i]) + (r - start) * self.layout.row_bytes
            r, i = end, i + 1

    def read(self, block: int, buf: np.ndarray, at: int, check_finite: bool = True) -> int:
        """Reads block ``block`` into rows at.. of ``buf`` (C-contiguous, the file's type);
        returns its number of rows. NaN or infinite values are refused unless ``check_finite``
        is False (``nnctl data inspect`` counts them instead)."""
        a, b = int(self.plan[block]), int(self.plan[block + 1])
        try:
            if self.fd is None:
                self.ds.read_direct(buf, source_sel=np.s_[a:b], dest_sel=np.s_[at : at + b - a])
            else:
                out = memoryview(buf.reshape(-1).view(np.uint8))
                rb = self.layout.row_bytes
                for r, n, offset in self._spans(a, b):
                    dest = out[(at + r - a) * rb : (at + r - a + n) * rb]
                    done = 0
                    while done < len(dest):
                        got = os.preadv(self.fd, [dest[done:]], offset + done)
                        if got <= 0:
                            raise OSError(
                                f"the file ends at byte {offset + done}, "
                                "before the examples it declares"
                            )
                        done += got
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(
                f"{self.layout.path}: cannot read examples {a}..{b - 1}: {exc}"
            ) from None
        if check_finite and buf.dtype.kind == "f" and not np.all(np.isfinite(buf[at : at + b - a])):
            raise DataError(
                f"{self.layout.path}: {self.layout.x_key}: NaN or infinite values in examples "
                f"{a}..{b - 1}; clean the data first"
            )
        return b - a

    def advise(self, blocks: Any) -> None:
        """Asks the kernel to start reading ``blocks`` into the page cache (POSIX_FADV_WILLNEED)
        and returns at once; a no-op for arrays HDF5 decodes and where the call is missing."""
        if self.fd is None or not hasattr(os, "posix_fadvise"):
            return
        for blk in blocks:
            a, b = int(self.plan[blk]), int(self.plan[blk + 1])
            for _, n, offset in self._spans(a, b):
                try:
                    os.posix_fadvise(
                        self.fd, offset, n * self.layout.row_bytes, os.POSIX_FADV_WILLNEED
                    )
                except OSError:
                    return

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.h5 is not None:
            self.h5.close()
            self.h5 = None
