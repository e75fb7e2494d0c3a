"""The mini-batches of a training run streamed from a file (``StreamBatches``): each epoch visits
the blocks in a seeded, shuffled order and shuffles the examples within a window of ``WINDOW``
consecutive blocks of that order; the next window is read meanwhile (``prefetch``). The order
is a pure function of (seed, epoch), so a run resumed from a checkpoint's position reads the
same batches as an uninterrupted one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nnctl.data.stream.prefetch import Load, Prefetch
from nnctl.system import STREAM_BLOCKS, DataError

if TYPE_CHECKING:
    from nnctl.data.stream.columns import H5Columns
    from nnctl.data.stream.reader import BlockReader

WINDOW = 4  # blocks whose examples are shuffled together


class Position(Protocol):
    """Where training stands (``nnctl.training.state.TrainState`` is one): the batch of the
    epoch to read next, and the streamed position recorded for a checkpoint."""

    epoch: int
    batch: int
    stream: dict[str, Any] | None


@dataclass
class _Window:
    """One window read: its examples converted into rows 0..n-1 of its buffer in the window's
    shuffled order (a batch is a run of consecutive rows), and their columns of X."""

    buf: int  # which of the two buffers holds it
    cols: np.ndarray  # (n,) column of X (and T) of each buffer row, in order


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
        # Allocated once for the whole run: one window as read (the file's type), two windows of
        # converted examples (the one trained on and the one being read) and one batch (for the
        # batches that straddle two windows).
        self.raw = np.empty((block * window, *X.layout.shape[1:]), dtype=X.layout.dtype)
        self.raw_flat = self.raw.reshape(block * window, n_x)
        self.flat = [np.empty((block * window, n_x), dtype=X.dtype) for _ in range(2)]
        self.x_batch = np.empty((batch_size, n_x), dtype=X.dtype)
        self.y_batch = np.empty((Y.shape[0], batch_size), dtype=Y.dtype)
        self.prefetch: Prefetch[_Window] = Prefetch("nnctl-prefetch")
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
        """Reads window w of ``epoch`` (block ``order``) and converts its examples into buffer
        ``buf`` in their shuffled order. Runs in the prefetch thread, or in the training thread
        when nothing is pending.

        The whole window is read in the file's type first, then gathered in its shuffled order
        and converted in one pass (``H5Columns.convert``): the training thread's batch is then a
        run of rows of the buffer, used where it lies, and the shuffle's gather moves bytes of
        the file's type (a quarter of float32's for uint8) in this thread instead of float32
        rows in the training thread."""
        src, cols, at = [], [], 0
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
                # the read releases the GIL, so this overlaps the training thread's work
                n = reader.read(int(blk), self.raw, at)
                src.append(np.arange(at, at + n) if local is None else at + local)
                cols.append(np.arange(lo, lo + k))
                at += n
        rows = np.concatenate(src) if src else np.empty(0, np.int64)
        c = np.concatenate(cols) if cols else np.empty(0, np.int64)
        perm = np.random.default_rng(
            np.random.SeedSequence([self.seed, STREAM_BLOCKS, epoch, w + 1])
        ).permutation(rows.size)
        # buffer row i is the window's example perm[i] (numpy releases the GIL here too)
        self.X.convert(self.raw_flat, self.flat[buf][: rows.size], rows[perm])
        return _Window(buf, c[perm])

    def _next_window(self, epoch: int, w: int) -> tuple[int, int]:
        starts = self._order(epoch)[1]
        return (epoch, w + 1) if w + 2 < starts.size else (epoch + 1, 0)

    def _window(self, epoch: int, w: int) -> _Window:
        """Window w of ``epoch``, from the prefetch when it was the one expected; then starts
        reading the following window into the other buffer."""

        def load(buf: int) -> _Window:
            return self._load(epoch, w, buf, self.block_order(epoch))

        def following() -> tuple[tuple[int, int], Load[_Window]]:
            ne, nw = self._next_window(epoch, w)
            order = self.block_order(ne)  # here: the prefetch thread gets its order passed in

            def load_next(buf: int) -> _Window:
                return self._load(ne, nw, buf, order)

            return (ne, nw), load_next

        return self.prefetch.get((epoch, w), load, following)

    # ----------------------------------------------------------------- batches

    def next_batch(self, s: Position) -> tuple[np.ndarray, np.ndarray]:
        """(Xb: (n_x, k), Tb: (n_L, k)) of batch ``s.batch`` of epoch ``s.epoch``; views of
        buffers valid until the next call (Xb a column-major view of the window's rows, laid
        out as ``BatchGatherer``'s). Sets ``s.stream`` to the position after it."""
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
        filled, Xb = 0, self.x_batch
        while filled < k:
            at = offset + filled
            w = int(np.searchsorted(starts, at, side="right")) - 1
            win = self._window(epoch, w)
            a = at - int(starts[w])
            take = min(k - filled, win.cols.size - a)
            rows = self.flat[win.buf][a : a + take]
            if take == k:
                Xb = rows  # the whole batch in one window: its rows as they lie, no copy
            else:
                # a batch across two windows: copied before the next window's buffer is reused
                self.x_batch[filled : filled + take] = rows
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
        return Xb[:k].T, self.targets(self.y_batch[:, :k])

    def close(self) -> None:
        self.prefetch.close()
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
