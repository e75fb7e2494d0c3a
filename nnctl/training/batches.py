"""Mini-batches gathered by index into buffers allocated once per training run.

X is (n_x, m) in the course's notation and a mini-batch is a set of its columns. Where the
columns sit in memory decides what gathering them costs. Row-major (C order), one example's
n_x features lie m values apart, so gathering 128 random columns reads one cache line per
value; column-major (Fortran order, ``X.T`` C-contiguous) each example is one contiguous run
of n_x values, far cheaper to gather (measured on W2: docs/developers/measured-core.md). The
data loaders therefore keep X column-major, as the course's own ``x.reshape(m, -1).T`` is; a
row-major X still works, through the slower gather.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class BatchGatherer:
    """Copies the columns ``idx`` of X: (n_x, m) and of the labels (or regression targets)
    Y: (n_y, m) into reused buffers, and makes the batch's loss targets from its labels.

    ``gather(idx) -> (Xb, Tb)``: Xb: (n_x, k), Tb: (n_L, k) for the k <= batch_size indices.
    ``targets(Yb) -> Tb`` turns a batch's labels into the loss's targets (a softmax's one-hot
    columns); without it Y are the targets themselves. Only one batch's targets ever exist: the
    one-hot targets of all m examples would take n_L values each (classes x examples), as the
    streamed batches (``nnctl.data.stream.batches``) already avoid. The arrays returned are
    views of the buffers, valid until the next call; Tb is laid out as the targets of every
    example gathered by column were, so the arithmetic on it is the same to the bit.
    """

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        batch_size: int,
        targets: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.X, self.bs, self.targets = X, batch_size, targets
        # X.T of a column-major X is row-major (m, n_x): each example is a row.
        self.by_example = X.flags.f_contiguous and not X.flags.c_contiguous
        self.Y_rows = np.ascontiguousarray(Y.T)  # (m, n_y): one label per example, copied once
        self.x_buf = np.empty(X.shape[0] * batch_size, dtype=X.dtype)
        self.y_buf = np.empty(Y.shape[0] * batch_size, dtype=Y.dtype)
        # the targets' rows and type, from one example's
        probe = Y[:, :1] if targets is None else targets(Y[:, :1])
        self.n_L = probe.shape[0]
        self.t_buf = None if targets is None else np.empty(self.n_L * batch_size, dtype=probe.dtype)

    def gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k, n_x = idx.size, self.X.shape[0]
        # mode="clip" skips the bounds check: idx comes from a permutation of range(m), and
        # with mode="raise" numpy would gather into a temporary and copy it into `out`.
        if self.by_example:
            rows = self.x_buf[: k * n_x].reshape(k, n_x)
            Xb = np.take(self.X.T, idx, axis=0, out=rows, mode="clip").T
        else:
            Xb = np.take(
                self.X, idx, axis=1, out=self.x_buf[: n_x * k].reshape(n_x, k), mode="clip"
            )
        n_y = self.Y_rows.shape[1]
        Yb = np.take(
            self.Y_rows, idx, axis=0, out=self.y_buf[: k * n_y].reshape(k, n_y), mode="clip"
        ).T
        if self.targets is None:
            return Xb, Yb
        t_rows = self.t_buf[: k * self.n_L].reshape(k, self.n_L)  # type: ignore[index]
        np.copyto(t_rows, self.targets(Yb).T)
        return Xb, t_rows.T
