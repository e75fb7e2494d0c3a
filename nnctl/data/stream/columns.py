"""A streamed X (``H5Columns``): (n_x, m) whose columns are examples of an HDF5 ``*_x`` array,
read and converted to the run's dtype only block by block, for scoring (``blocks``) and for
training's mini-batches (``batch_source``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnctl.data.stream.layout import H5Layout
from nnctl.data.stream.reader import BlockReader
from nnctl.system import DataError, human_bytes

if TYPE_CHECKING:
    from nnctl.data.stream.batches import StreamBatches

# Blocks asked of the disk ahead of the one being read: requests in flight for a cold file.
READ_AHEAD_BLOCKS = 8
# Output bytes converted at a time (``H5Columns.convert``): small enough that a piece's passes
# (cast and divide, then the normalization's) stay in the core's L2 cache, large enough that the
# prefetch thread takes the GIL back only a few times a window (docs/developers/streaming.md)
CONVERT_BYTES = 512 << 10


@dataclass(frozen=True)
class BlockColumns:
    """The columns of an ``H5Columns`` in each block of its plan: block i holds columns
    ``first[i] .. first[i] + counts[i] - 1``; they are all the block's rows except for the
    blocks in ``partial``, which maps a block to the offsets (k,) of its rows used (a
    validation hold-out takes some rows of a block). Two numbers a block, nothing per example
    for a file streamed whole."""

    first: np.ndarray  # (n_blocks,)
    counts: np.ndarray  # (n_blocks,)
    partial: dict[int, np.ndarray]


class H5Columns:
    """X: (n_x, m) whose columns are the examples (rows) ``rows`` of an HDF5 ``*_x`` array,
    converted to ``dtype`` (divided by ``divide_by``) only when read. ``rows``: sorted (m,)
    indices into the file, None for all of them.

    It has ``shape``, ``dtype`` and ``ndim`` like an array, and ``X[:, idx]`` (as the validation
    hold-out takes columns) is another H5Columns; its values come only through ``blocks()``
    (scoring) and ``batch_source()`` (training). Turning it into an array is refused.
    """

    ndim = 2

    def __init__(
        self,
        layout: H5Layout,
        divide_by: float,
        dtype: type,
        rows: np.ndarray | None = None,
        steps: tuple[tuple[str, np.ndarray], ...] = (),
    ) -> None:
        self.layout, self.divide_by, self.float_type = layout, divide_by, np.dtype(dtype).type
        self.rows = rows
        self.dtype = np.dtype(dtype)
        self.steps = (
            steps  # normalization after the scaling: ("subtract" | "divide", (n_x,) in dtype)
        )
        self.shape = (layout.n_x, layout.m if rows is None else int(rows.size))
        self.plan = layout.block_plan()

    def __getitem__(self, key: Any) -> H5Columns:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise TypeError("a streamed X supports only X[:, columns]")
        cols = np.arange(self.shape[1])[key[1]]
        rows = cols if self.rows is None else self.rows[cols]
        if rows.size > 1 and np.any(np.diff(rows) <= 0):
            raise ValueError("streamed columns must be taken in file order")
        return H5Columns(self.layout, self.divide_by, self.dtype.type, rows, self.steps)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise DataError(
            f"{self.layout.path}: {self.layout.x_key} is streamed from disk ({self.describe()}) "
            "and is never loaded whole; this command needs it in memory "
            "(set dataset.stream: false if it fits)"
        )

    def describe(self) -> str:
        nbytes = self.shape[0] * self.shape[1] * self.dtype.itemsize
        return f"{self.shape[1]} examples, {human_bytes(nbytes, decimal=True)} as {self.dtype}"

    def block_columns(self) -> BlockColumns:
        """Which of this X's columns each block of the plan holds (see ``BlockColumns``)."""
        if self.rows is None:
            return BlockColumns(self.plan[:-1].copy(), np.diff(self.plan), {})
        bounds = np.searchsorted(self.rows, self.plan)
        partial = {}
        for i in np.flatnonzero(np.diff(bounds) != np.diff(self.plan)):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            partial[int(i)] = self.rows[lo:hi] - self.plan[i]
        return BlockColumns(bounds[:-1].astype(np.int64), np.diff(bounds).astype(np.int64), partial)

    def head(self, n: int) -> np.ndarray:
        """The first n columns as an array (n_x, n) in the run's dtype, read block by block (for
        a few examples: the gradient check's)."""
        out = np.empty((self.shape[0], n), dtype=self.dtype)
        if n == 0:
            return out
        for Xb, cols in self.blocks():
            k = min(n, cols.stop) - cols.start
            out[:, cols.start : cols.start + k] = Xb[:, :k]
            if cols.stop >= n:
                break  # before the next block is read
        return out

    def reader(self) -> BlockReader:
        """A reader of this file's blocks (to be closed; see ``BlockReader``)."""
        return BlockReader(self.layout, self.plan)

    def convert(
        self, raw: np.ndarray, out: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Raw rows (r, n_x) in the file's type -> ``out`` (k, n_x) in the run's dtype: the rows
        ``rows`` (k,) of ``raw`` in that order (None: all of them, k = r), as ``data.prepare_x``
        computes them (cast, then divide), then normalized as ``normalize.apply_steps`` does.

        One pass over the block: ``CONVERT_BYTES`` of output rows at a time are gathered (in the
        file's type, a quarter of float32's bytes for uint8), cast and divided in one ufunc call,
        and normalized while they are in the core's cache, instead of each operation sweeping the
        whole block through memory. Each operation is still one IEEE operation in the dtype, in
        prepare_x's and apply_steps' order, so a column is the same bits as in memory (tested)."""
        n_x = raw.shape[1]
        k = raw.shape[0] if rows is None else int(rows.size)
        step = max(1, CONVERT_BYTES // max(1, n_x * out.dtype.itemsize))
        scratch = None if rows is None else np.empty((min(step, k), n_x), dtype=raw.dtype)
        divisor = self.float_type(self.divide_by)
        for a in range(0, k, step):
            o = out[a : a + step]
            if rows is None:
                src = raw[a : a + step]
            else:
                idx = rows[a : a + step]
                src = np.take(raw, idx, axis=0, out=scratch[: idx.size], mode="clip")  # type: ignore[index]
            if self.divide_by != 1:
                # the cast and the division in one call: numpy casts each value to the dtype and
                # divides in it, the bits of `astype(dtype) / dtype(divide_by)`
                np.divide(src, divisor, out=o, dtype=self.dtype, casting="unsafe")
            else:
                np.copyto(o, src, casting="unsafe")
            for op, value in self.steps:
                if op == "subtract":
                    np.subtract(o, value, out=o)
                else:
                    np.divide(o, value, out=o)
        return out

    def with_steps(self, steps: list[dict[str, Any]]) -> H5Columns:
        """These columns normalized by ``steps`` (``nnctl.data.normalize``'s), applied as each block
        is converted."""
        more = []
        for step in steps:
            if step["op"] not in ("subtract", "divide"):
                raise ValueError(f"unknown preprocessing step {step['op']!r}")
            values = step["value"] if step["op"] == "subtract" else step["by"]
            more.append((step["op"], np.asarray(values, dtype=self.dtype).reshape(-1)))
        return H5Columns(
            self.layout, self.divide_by, self.dtype.type, self.rows, (*self.steps, *more)
        )

    def feature_statistics(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """(shift, scale): (n_x,) float64 of each feature over these columns, read block by
        block: ``standard`` the mean and standard deviation (each block's mean and squared
        deviations, merged as Chan et al. do: as accurate as the two-pass formula over the whole
        array, equal to it to rounding), ``minmax`` the minimum and the range."""
        n_x = self.shape[0]
        count, mean, m2 = 0, np.zeros(n_x), np.zeros(n_x)
        lo, hi = np.full(n_x, np.inf), np.full(n_x, -np.inf)
        for Xb, _ in self.blocks():
            B = np.asarray(Xb, dtype=np.float64)
            k = B.shape[1]
            if method == "minmax":
                np.minimum(lo, B.min(axis=1), out=lo)
                np.maximum(hi, B.max(axis=1), out=hi)
                continue
            bmean = B.mean(axis=1)
            B -= bmean[:, None]
            delta, total = bmean - mean, count + k
            mean += delta * (k / total)
            m2 += np.einsum("ij,ij->i", B, B) + delta * delta * (count * k / total)
            count = total
        if method == "minmax":
            return lo, hi - lo
        return mean, np.sqrt(m2 / max(count, 1))

    def blocks(self) -> Iterator[tuple[np.ndarray, slice]]:
        """(X_block: (n_x, k), columns) for each block in file order, k <= the block's size;
        X_block is valid until the next one is read. For scoring in bounded memory."""
        biggest = int(np.max(np.diff(self.plan)))
        raw = np.empty((biggest, *self.layout.shape[1:]), dtype=self.layout.dtype)
        flat = raw.reshape(biggest, -1)
        conv = np.empty((biggest, self.shape[0]), dtype=self.dtype)
        bc = self.block_columns()
        wanted = [
            (i, int(bc.first[i]), int(bc.counts[i]), bc.partial.get(i))
            for i in np.flatnonzero(bc.counts)
        ]
        reader = self.reader()
        try:
            for j, (i, lo, k, local) in enumerate(wanted):
                # the next blocks are asked of the disk while this one is scored
                reader.advise([w[0] for w in wanted[j + 1 : j + 1 + READ_AHEAD_BLOCKS]])
                n = reader.read(i, raw, 0)
                picked = flat[:n] if local is None else flat[local]
                yield self.convert(picked, conv[:k]).T, slice(lo, lo + k)
        finally:
            reader.close()

    def batch_source(
        self, Y: np.ndarray, targets: Callable[[np.ndarray], np.ndarray], batch_size: int, seed: int
    ) -> StreamBatches:
        """The mini-batches of a training run on these columns: see ``StreamBatches``."""
        from nnctl.data.stream.batches import StreamBatches

        return StreamBatches(self, Y, targets, batch_size, seed)
