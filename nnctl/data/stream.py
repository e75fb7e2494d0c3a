"""Data larger than memory: mini-batches streamed from a course-style HDF5 file.

A streamed training set never exists whole in memory. Its ``*_x`` array stays in the file and
is seen through ``H5Columns``, an X: (n_x, m) whose columns are read on demand:

- The file's examples (axis 0) are cut into **blocks** of whole chunks (``block_plan``), about
  ``BLOCK_BYTES`` of raw values each, so every read is one contiguous, chunk-aligned run.
- Each epoch visits the blocks in a seeded, shuffled order and shuffles the examples within a
  **window** of ``WINDOW`` consecutive blocks of that order (``StreamBatches``). Random reads
  of single examples from HDF5 are an order of magnitude slower than memory (why Keras dropped
  ``HDF5Matrix``); whole blocks in a shuffled order are sequential reads.
- A block is read with ``read_direct`` into a buffer of the file's own type (uint8 pixels stay
  uint8 on disk and in the read buffer), then converted once to the run's dtype into the
  window's buffer, as rows (k, n_x), i.e. a column-major X (see ``nnctl.training.batches``), with the
  arithmetic of ``data.prepare_x`` (an example's column is the same bits streamed or in memory).
  Only the block just read is ever in the file's type; all buffers are allocated once per run.
- A background thread reads and converts the next window while the current one is trained on
  (h5py and numpy release the GIL while they read and convert); a mini-batch is then gathered
  from the window exactly as ``batches.BatchGatherer`` gathers one from memory.
- The order is a pure function of (seed, epoch): the block order from a SeedSequence of
  (seed, ``STREAM_BLOCKS``, epoch), each window's shuffle from (…, window). A checkpoint records
  the position (epoch, block order, window and position in it) and resuming from it reads the
  same batches as an uninterrupted run.

Scoring (validation sets, the run's summary, ``evaluate``) reads the file block by block in file
order (``H5Columns.blocks``); see ``scoring.score``.

``streaming_plan(cfg)`` decides whether a config's files are streamed: ``dataset.stream: true``,
or automatically (with a notice) when the data in the run's dtype would not fit in
``NNCTL_MEMORY_SHARE`` (default 0.5) of the memory available. Full-batch training needs every
example at each step and is refused when the data cannot fit.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nnctl.data.dataset import Dataset, RawSplit, load_files, resolve_path
from nnctl.system import STREAM_BLOCKS, ConfigError, DataError


class Position(Protocol):
    """Where training stands (``nnctl.training.state.TrainState`` is one): the batch of the
    epoch to read next, and the streamed position recorded for a checkpoint."""

    epoch: int
    batch: int
    stream: dict[str, Any] | None


BLOCK_BYTES = 1 << 20  # raw bytes per block (rounded to whole chunks): large sequential reads
WINDOW = 4  # blocks whose examples are shuffled together
MEMORY_SHARE_ENV = "NNCTL_MEMORY_SHARE"
DEFAULT_MEMORY_SHARE = 0.5
# Blocks are whole chunks up to this size; larger chunks would make the windows (converted to
# the run's dtype) too large, so blocks then cut chunks, and a compressed chunk is decompressed
# for each block that reads part of it. A chunk that cuts the example axis into pieces makes
# every block many small reads.
MAX_CHUNK_BYTES = 4 << 20
# A chunked array is read straight from the file when its chunks can be listed in at most this
# many entries (24 bytes each while listing); beyond, through HDF5.
MAX_DIRECT_CHUNKS = 1 << 22
# Blocks asked of the disk ahead of the one being read: requests in flight for a cold file.
READ_AHEAD_BLOCKS = 8


# --------------------------------------------------------------------------- the file's layout


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
        A contiguous array is fine: a block is one sequential read (measured in page cache:
        ~5 GB/s contiguous, ~1.7 GB/s in 256-example chunks, ~0.3 GB/s in chunks that split
        each example; docs/developers/streaming.md)."""
        if self.chunks is None:
            return None
        if tuple(self.chunks[1:]) != tuple(self.shape[1:]):
            return f"chunked {list(self.chunks)}, which splits each example across chunks"
        if self.chunks[0] * self.row_bytes > MAX_CHUNK_BYTES:
            return (
                f"chunked {list(self.chunks)}, chunks of {_size(self.chunks[0] * self.row_bytes)} "
                f"(more than the {_size(MAX_CHUNK_BYTES)} a read block may take)"
            )
        return None


def read_h5_header(path: Path, labels: bool = True) -> RawSplit:
    """Like ``data.read_h5`` but reads only the labels and ``list_classes``: ``x`` is the
    ``H5Layout`` of the ``*_x`` array (dtype, ndim, shape), whose values stay in the file.
    ``labels`` False leaves the labels unread too (``y`` None: whether to stream needs only sizes)."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError:
        raise DataError(f"{path}: not a readable HDF5 file") from None
    with f:
        names = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
        xs = [k for k in names if k.endswith("_x")]
        ys = [k for k in names if k.endswith("_y")]
        if len(xs) != 1 or len(ys) != 1:
            raise DataError(
                f"{path}: expected exactly one '*_x' and one '*_y' array, found {', '.join(names) or 'none'}"
            )
        try:
            dx = f[xs[0]]
            layout = H5Layout(
                path,
                xs[0],
                tuple(int(s) for s in dx.shape),
                np.dtype(dx.dtype),
                None if dx.chunks is None else tuple(int(c) for c in dx.chunks),
            )
            y = _read_labels(f[ys[0]]) if labels else None
            classes = None
            if "list_classes" in f:
                classes = [
                    c.decode() if isinstance(c, bytes) else str(c) for c in f["list_classes"][()]
                ]
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(f"{path}: cannot read arrays: {exc}") from None
    return RawSplit(layout, y, classes, path, xs[0], ys[0])  # type: ignore[arg-type]


LABEL_SLICE = 1 << 20  # labels read this many at a time


def _read_labels(ds: Any) -> np.ndarray:
    """A ``*_y`` array's values. Whole class numbers (an integer type, 1-D) that fit in one
    byte are read a slice at a time into uint8: a streamed file's labels then take one byte
    an example instead of the file's eight, and never exist in the file's type whole. Anything
    else is read as stored (and checked by ``data``)."""
    if ds.ndim != 1 or np.dtype(ds.dtype).kind not in "iub":
        return ds[()]
    out = np.empty(ds.shape[0], dtype=np.uint8)
    for a in range(0, ds.shape[0], LABEL_SLICE):
        part = ds[a : a + LABEL_SLICE]
        if part.size and (part.min() < 0 or part.max() > 255):
            return ds[()]  # many classes, or labels out of range: data's checks word the error
        out[a : a + part.size] = part
    return out


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


# --------------------------------------------------------------------------- reading blocks


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
        """(first row, rows, byte offset) of each piece of rows a..b-1 that is contiguous in the file."""
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
                                f"the file ends at byte {offset + done}, before the examples it declares"
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


# --------------------------------------------------------------------------- X as a file


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
            f"{self.layout.path}: {self.layout.x_key} is streamed from disk ({self.describe()}) and is "
            "never loaded whole; this command needs it in memory (set dataset.stream: false if it fits)"
        )

    def describe(self) -> str:
        return f"{self.shape[1]} examples, {_size(self.shape[0] * self.shape[1] * self.dtype.itemsize)} as {self.dtype}"

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

    def convert(self, raw: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Raw rows (k, n_x) -> ``out`` (k, n_x) in the run's dtype, as ``data.prepare_x``
        computes them (cast, then divide), then normalized as ``normalize.apply_steps`` does
        (each step one operation in the dtype, so a column is the same bits as in memory)."""
        np.copyto(out, raw, casting="unsafe")
        if self.divide_by != 1:
            out /= self.float_type(self.divide_by)
        for op, value in self.steps:
            if op == "subtract":
                out -= value
            else:
                out /= value
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
        return StreamBatches(self, Y, targets, batch_size, seed)


# --------------------------------------------------------------------------- training batches


@dataclass
class _Window:
    epoch: int
    index: int
    buf: int  # which of the two buffers holds it
    rows: np.ndarray  # (n,) buffer row of each example, in the window's shuffled order
    cols: np.ndarray  # (n,) column of X (and T) of each, same order


class StreamBatches:
    """The mini-batches of one training run streamed from ``X`` (an ``H5Columns``) with labels
    (or regression targets) Y: (n_y, m); ``targets(Yb)`` turns a batch's into the loss's
    targets (n_L, k), so only the batch's exist (a softmax's one-hot targets of all examples
    would be n_L values each). ``next_batch(state)`` returns (Xb: (n_x, k), Tb: (n_L, k)) for
    the state's (epoch, batch) and records the stream position in ``state.stream``.

    Epoch e's examples are the windows of its block order, each window's examples in a seeded
    shuffled order; batch b is examples b*batch_size .. of that sequence, so an epoch covers
    every training example once and has ``ceil(m / batch_size)`` batches like in memory.
    """

    def __init__(
        self,
        X: H5Columns,
        Y: np.ndarray,
        targets: Callable[[np.ndarray], np.ndarray],
        batch_size: int,
        seed: int,
        window: int = WINDOW,
    ) -> None:
        self.X, self.Y, self.targets, self.bs, self.seed, self.window = (
            X,
            Y,
            targets,
            batch_size,
            seed,
            window,
        )
        self.blocks = X.block_columns()
        self.counts = self.blocks.counts
        n_x = X.shape[0]
        block = int(np.max(np.diff(X.plan)))
        # Allocated once for the whole run: one block as read (the file's type), two windows of
        # converted examples (the one trained on and the one being read) and one batch.
        self.raw = np.empty((block, *X.layout.shape[1:]), dtype=X.layout.dtype)
        self.raw_flat = self.raw.reshape(block, n_x)
        self.flat = [np.empty((block * window, n_x), dtype=X.dtype) for _ in range(2)]
        self.x_batch = np.empty((batch_size, n_x), dtype=X.dtype)
        self.y_batch = np.empty((Y.shape[0], batch_size), dtype=Y.dtype)
        self.current: _Window | None = None
        self.pending: tuple[int, int, Future] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnctl-prefetch")
        self.reader: BlockReader | None = X.reader()  # used by one thread at a time
        self._orders: dict[int, tuple[np.ndarray, np.ndarray, list[int]]] = {}
        self._resumed_checked = False

    # ----------------------------------------------------------------- the order

    def block_order(self, epoch: int) -> np.ndarray:
        """The blocks' order in ``epoch``: a permutation of range(n_blocks)."""
        return self._order(epoch)[0]

    def _order(self, epoch: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(block order, first example of each window in the epoch's sequence (+ the end), the
        order as a list for the checkpoint)."""
        if epoch not in self._orders:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, STREAM_BLOCKS, epoch]))
            order = rng.permutation(self.counts.size)
            sizes = [
                int(self.counts[order[w : w + self.window]].sum())
                for w in range(0, order.size, self.window)
            ]
            # called from the training thread only (the prefetch gets its order passed in);
            # the current and the next epoch's orders are all it needs
            for old in [e for e in self._orders if e < epoch - 1]:
                del self._orders[old]
            self._orders[epoch] = (order, np.r_[0, np.cumsum(sizes)], order.tolist())
        return self._orders[epoch]

    def _load(self, epoch: int, w: int, buf: int, order: np.ndarray) -> _Window:
        """Reads window w of ``epoch`` (block ``order``) into buffer ``buf`` and shuffles its
        examples. Runs in the prefetch thread, or in the training thread when nothing is pending."""
        cols, at = [], 0
        reader = self.reader
        assert reader is not None
        blocks = order[w * self.window : (w + 1) * self.window]
        # this window's and the next one's blocks are asked of the disk at once: a cold file
        # then has several reads in flight instead of one
        reader.advise(order[w * self.window : (w + 2) * self.window])
        for blk in blocks:
            lo, k, local = (
                int(self.blocks.first[blk]),
                int(self.counts[blk]),
                self.blocks.partial.get(int(blk)),
            )
            if k:
                # read in the file's type, converted once into the window (the read and numpy
                # release the GIL, so this overlaps the training thread's work)
                n = reader.read(int(blk), self.raw, 0)
                self.X.convert(
                    self.raw_flat[:n] if local is None else self.raw_flat[local],
                    self.flat[buf][at : at + k],
                )
                cols.append(np.arange(lo, lo + k))
                at += k
        r = np.arange(at)
        c = np.concatenate(cols) if cols else np.empty(0, np.int64)
        perm = np.random.default_rng(
            np.random.SeedSequence([self.seed, STREAM_BLOCKS, epoch, w + 1])
        ).permutation(r.size)
        return _Window(epoch, w, buf, r[perm], c[perm])

    def _next_window(self, epoch: int, w: int) -> tuple[int, int]:
        starts = self._order(epoch)[1]
        return (epoch, w + 1) if w + 2 < starts.size else (epoch + 1, 0)

    def _window(self, epoch: int, w: int) -> _Window:
        """Window w of ``epoch``, from the prefetch when it was the one expected; then starts
        reading the following window into the other buffer."""
        if self.current is not None and (self.current.epoch, self.current.index) == (epoch, w):
            return self.current
        win = None
        if self.pending is not None:
            pe, pw, fut = self.pending
            self.pending = None
            got = fut.result()  # also waits, so the buffer is free either way
            if (pe, pw) == (epoch, w):
                win = got
        if win is None:
            buf = 0 if self.current is None else 1 - self.current.buf
            win = self._load(epoch, w, buf, self.block_order(epoch))
        self.current = win
        ne, nw = self._next_window(epoch, w)
        self.pending = (
            ne,
            nw,
            self.pool.submit(self._load, ne, nw, 1 - win.buf, self.block_order(ne)),
        )
        return win

    # ----------------------------------------------------------------- batches

    def next_batch(self, s: Position) -> tuple[np.ndarray, np.ndarray]:
        """(Xb: (n_x, k), Tb: (n_L, k)) of batch ``s.batch`` of epoch ``s.epoch``; views of
        buffers valid until the next call. Sets ``s.stream`` to the position after it."""
        epoch, m = s.epoch, self.X.shape[1]
        order, starts, order_list = self._order(epoch)
        if not self._resumed_checked:
            self._resumed_checked = True
            if (
                s.batch
                and s.stream
                and s.stream["epoch"] == epoch
                and s.stream["block_order"] != order_list
            ):
                # a resumed run: the checkpoint's order must be the one this file gives
                raise DataError(
                    f"{self.X.layout.path}: the checkpoint's block order differs from the file's; "
                    "the data file's layout changed since the run started"
                )
        offset = s.batch * self.bs
        k = min(self.bs, m - offset)
        filled = 0
        while filled < k:
            at = offset + filled
            w = int(np.searchsorted(starts, at, side="right")) - 1
            win = self._window(epoch, w)
            a = at - int(starts[w])
            take = min(k - filled, win.rows.size - a)
            np.take(
                self.flat[win.buf],
                win.rows[a : a + take],
                axis=0,
                out=self.x_batch[filled : filled + take],
                mode="clip",
            )
            np.take(
                self.Y,
                win.cols[a : a + take],
                axis=1,
                out=self.y_batch[:, filled : filled + take],
                mode="clip",
            )
            filled += take
        end = offset + k
        w = min(int(np.searchsorted(starts, end, side="right")) - 1, starts.size - 2)
        s.stream = {
            "epoch": epoch,
            "example": end,
            "window": w,
            "in_window": end - int(starts[w]),
            "block_order": order_list,
        }  # one list per epoch, shared by its batches' records
        return self.x_batch[:k].T, self.targets(self.y_batch[:, :k])

    def close(self) -> None:
        if self.pending is not None:
            self.pending[2].cancel()
        self.pool.shutdown(wait=True)
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# --------------------------------------------------------------------------- when to stream


def available_memory() -> int:
    """Bytes this process may still allocate: the least of MemAvailable, the cgroup's limit
    minus its usage, and the address-space limit (``ulimit -v``) minus the current size."""
    out = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                out.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            lim = Path(limit).read_text().strip()
            if lim != "max" and int(lim) < 1 << 60:
                out.append(int(lim) - int(Path(usage).read_text()))
        except (OSError, ValueError):
            pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            vm = next(
                int(line.split()[1]) * 1024
                for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmSize:")
            )
            out.append(soft - vm)
        except (OSError, StopIteration, ValueError):
            out.append(soft)
    return max(0, min(out)) if out else 1 << 62


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
    """(the arrays in ``dtype`` would not fit in the memory share, a description of the sizes)."""
    itemsize = np.dtype(dtype).itemsize
    need = sum(h.x.m * h.x.n_x * itemsize for h in headers)  # type: ignore[attr-defined]
    avail, share = available_memory(), memory_share()
    what = (
        f"{_size(need)} as {dtype}, more than {share:.0%} of the {_size(avail)} of memory available "
        f"({MEMORY_SHARE_ENV})"
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
        header = _course_h5_header(spec[role], config_file)
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
            f"{headers[0].path}: the examples would take {what}; full-batch training needs every example in "
            f"memory at each step, so set batch_size (e.g. 128) to stream it from disk"
        )
    notes = []
    if want is None:
        notes.append(
            f"{headers[0].path}: streaming the data from disk in mini-batches: the examples would take {what}; "
            "set dataset.stream: true to always stream it"
        )
    for h in headers:
        problem = h.x.chunk_problem()  # type: ignore[attr-defined]
        if problem:
            notes.append(
                f"{h.path}: {h.x_key} is {problem}; streaming works, but a file written by "
                "`nnctl data import` (chunked along the example axis) streams faster"
            )
    return StreamPlan(True, notes)


# A file may compress its examples, but not by more than this: a header declaring more raw
# bytes than this many times the file's size is damaged or hostile, and is left to the
# reader's declared-size check rather than streamed.
MAX_COMPRESSION = 1000


def _course_h5_header(value: Any, config_file: str | None) -> RawSplit | None:
    """The header of a course-style HDF5 file named by a dataset value that could be streamed;
    None for anything else (folders, other kinds, other array names, broken links,
    implausible declared sizes): those are read whole, by the kinds table, which words the error."""
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


def load_streamed(
    spec: dict[str, Any], dtype: str, task: str, config_file: str | None = None
) -> Dataset:
    """The dataset of ``spec``'s files with every X an ``H5Columns`` (labels and targets are
    read; examples stay in the files). Same checks and Y as ``data.load_dataset``."""

    def as_x(raw: RawSplit, divide_by: float, float_type: type) -> H5Columns:
        return H5Columns(raw.x, divide_by, float_type)  # type: ignore[arg-type]

    ds = load_files(spec, np.dtype(dtype).type, task, config_file, read=read_h5_header, as_x=as_x)
    X = ds.X_train
    # one window holds the whole file: every batch is drawn from all of it, in any order
    several_windows = len(X.plan) - 1 > WINDOW  # type: ignore[attr-defined]
    note = (
        class_order_notice(ds.Y_train, X.layout.path)
        if task != "regression" and several_windows
        else None
    )  # type: ignore[attr-defined]
    if note:
        ds.notes.append(note)
    return ds


# A file whose neighbouring labels differ this much less often than in a random order is taken
# to be stored by class: a streamed window (a few blocks) then holds mostly one class.
CLASS_ORDER_SHARE = 0.05


def class_order_notice(Y: np.ndarray, path: Path) -> str | None:
    """A notice when the labels Y: (1, m) of a streamed file are stored in long runs of one
    class (neighbouring labels differ less than ``CLASS_ORDER_SHARE`` of the times a random
    order would make them differ), else None."""
    y = np.asarray(Y).reshape(-1)
    m = y.size
    if m < 2:
        return None
    counts = np.zeros(int(y.max()) + 1)
    changes = 0
    for a in range(0, m, LABEL_SLICE):  # in slices: nothing the size of the labels is made
        part = y[a : a + LABEL_SLICE + 1]
        counts += np.bincount(part[:LABEL_SLICE], minlength=counts.size)
        changes += int(np.count_nonzero(part[1:] != part[:-1]))
    p = counts / m
    expected = (m - 1) * (1 - float(np.sum(p * p)))
    if expected < 1 or changes >= CLASS_ORDER_SHARE * expected:
        return None
    return (
        f"{path}: the examples are stored in class order ({changes + 1} runs of one class in {m} examples); "
        "a streamed batch mixes only a few neighbouring blocks, so most batches hold one class and "
        "training suffers; write the file shuffled (nnctl data import --shuffle SEED)"
    )


def read_rows(path: Path, rows: np.ndarray) -> list[np.ndarray]:
    """The raw examples ``rows`` of a file's ``*_x`` array, read one by one (for a few)."""
    import h5py

    key = read_h5_header(path).x_key
    with h5py.File(path, "r") as f:
        return [f[key][int(r)] for r in rows]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
