"""Several arrays as views into one contiguous buffer.

An optimizer's update is the same elementwise formula for every parameter. Over W1, b1, ...,
WL, bL as separate arrays each of its operations is 2L numpy calls; over one flat buffer holding
all of them it is one call, a single long pass that numpy vectorizes well (about half Adam's
step on W2: docs/developers/measured-core.md). The parameters,
their gradients and the optimizer's state therefore live in flat buffers, and the arrays the
rest of nnctl sees (``Params.Ws``, ``Params.bs``, the gradients) are views into them, in the
order W1 .. WL, b1 .. bL.
"""

from __future__ import annotations

import math

import numpy as np


class FlatArrays:
    """``views``: C-contiguous arrays of ``shapes``, all inside ``flat``: (total size,)."""

    def __init__(self, shapes: list[tuple[int, ...]], dtype: np.dtype | type) -> None:
        sizes = [math.prod(s) for s in shapes]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        self.views: list[np.ndarray] = []
        start = 0
        for shape, size in zip(shapes, sizes):
            self.views.append(self.flat[start : start + size].reshape(shape))
            start += size

    @classmethod
    def like(cls, arrays: list[np.ndarray]) -> FlatArrays:
        """A zeroed buffer with one view shaped like each of ``arrays`` (which share a dtype)."""
        return cls([a.shape for a in arrays], arrays[0].dtype)

    def holds(self, arrays: list[np.ndarray]) -> bool:
        """True when ``arrays`` are exactly this buffer's views (no copy needed)."""
        return len(arrays) == len(self.views) and all(a is v for a, v in zip(arrays, self.views))

    def load(self, arrays: list[np.ndarray]) -> None:
        """Copies ``arrays`` (shaped like the views) into the buffer. Raises ValueError for an
        array of another shape (a damaged checkpoint), rather than broadcasting it."""
        if len(arrays) != len(self.views):
            raise ValueError(f"expected {len(self.views)} arrays, got {len(arrays)}")
        for view, a in zip(self.views, arrays):
            if np.shape(a) != view.shape:
                raise ValueError(f"expected an array of shape {view.shape}, got {np.shape(a)}")
            np.copyto(view, a)

    def store(self, arrays: list[np.ndarray]) -> None:
        """Copies the buffer out into ``arrays`` (shaped like the views), in place."""
        for view, a in zip(self.views, arrays):
            np.copyto(a, view)
