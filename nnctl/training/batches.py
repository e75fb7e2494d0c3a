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

import numpy as np


class BatchGatherer:
    """Copies the columns ``idx`` of X: (n_x, m) and T: (n_L, m) into reused buffers.

    ``gather(idx) -> (Xb, Tb)``: Xb: (n_x, k), Tb: (n_L, k) for the k <= batch_size indices.
    The arrays returned are views of the buffers, valid until the next call.
    """

    def __init__(self, X: np.ndarray, T: np.ndarray, batch_size: int) -> None:
        self.X, self.bs = X, batch_size
        # X.T of a column-major X is row-major (m, n_x): each example is a row.
        self.by_example = X.flags.f_contiguous and not X.flags.c_contiguous
        self.T_rows = np.ascontiguousarray(T.T)  # (m, n_L): small, copied once
        self.x_buf = np.empty(X.shape[0] * batch_size, dtype=X.dtype)
        self.t_buf = np.empty(T.shape[0] * batch_size, dtype=T.dtype)

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
        n_L = self.T_rows.shape[1]
        Tb = np.take(
            self.T_rows, idx, axis=0, out=self.t_buf[: k * n_L].reshape(k, n_L), mode="clip"
        ).T
        return Xb, Tb
