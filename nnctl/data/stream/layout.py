"""The ``*_x`` array of a streamed HDF5 file as stored (``H5Layout``), and the blocks it is read
in (``block_plan``): runs of whole chunks along the example axis, about ``BLOCK_BYTES`` each."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.system import human_bytes

BLOCK_BYTES = 1 << 20  # raw bytes per block (rounded to whole chunks): large sequential reads
# Blocks are whole chunks up to this size; larger chunks would make the windows (converted to
# the run's dtype) too large, so blocks then cut chunks, and a compressed chunk is decompressed
# for each block that reads part of it. A chunk that cuts the example axis into pieces makes
# every block many small reads.
MAX_CHUNK_BYTES = 4 << 20


@dataclass(frozen=True)
class H5Layout:
    """The ``*_x`` array of an HDF5 file as stored: shape (m, ...), type and chunk shape
    (None: contiguous)."""

    path: Path
    x_key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def m(self) -> int:
        return self.shape[0]

    @property
    def n_x(self) -> int:
        return int(math.prod(self.shape[1:]))

    @property
    def row_bytes(self) -> int:
        return self.n_x * self.dtype.itemsize

    def block_plan(self) -> np.ndarray:
        """This array's block boundaries (``block_plan``): aligned with its chunks when they
        suit (see ``chunk_problem``), else with its examples."""
        chunk_rows = None if self.chunks is None or self.chunk_problem() else self.chunks[0]
        return block_plan(self.m, chunk_rows, self.row_bytes)

    def chunk_problem(self) -> str | None:
        """Why this layout streams slower than one chunked along the example axis, or None.
        A contiguous array is fine: a block is one sequential read (the read speeds of each
        layout: docs/developers/measured-data.md, docs/developers/streaming.md)."""
        if self.chunks is None:
            return None
        if tuple(self.chunks[1:]) != tuple(self.shape[1:]):
            return f"chunked {list(self.chunks)}, which splits each example across chunks"
        chunk_bytes = self.chunks[0] * self.row_bytes
        if chunk_bytes > MAX_CHUNK_BYTES:
            size, most = human_bytes(chunk_bytes, True), human_bytes(MAX_CHUNK_BYTES, True)
            return (
                f"chunked {list(self.chunks)}, chunks of {size} "
                f"(more than the {most} a read block may take)"
            )
        return None


def block_plan(
    m: int, chunk_rows: int | None, row_bytes: int, target: int | None = None
) -> np.ndarray:
    """Block boundaries (n_blocks + 1,) over m examples: whole chunks of ``chunk_rows``
    examples (1 for a contiguous array), about ``target`` raw bytes per block."""
    target = BLOCK_BYTES if target is None else target
    step = max(1, chunk_rows or 1)
    if step * row_bytes > MAX_CHUNK_BYTES:
        step = 1  # chunks too large to align with (chunk_problem says so)
    rows = max(step, (max(1, target // max(1, row_bytes)) // step) * step)
    return np.r_[np.arange(0, m, rows), m].astype(np.int64)
