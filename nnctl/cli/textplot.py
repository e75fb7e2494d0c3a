"""A cost curve drawn with block characters, for terminals (``nnctl runs show``).

The curve is an area chart: each column is one bin of iterations (the bin's mean cost), its
height drawn with eighth blocks, so a 10-row chart resolves 80 levels. The y labels are the
lowest and highest cost recorded, not of the bin means. Returns plain strings;
the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BLOCKS = " ▁▂▃▄▅▆▇█"


def curve_lines(
    iterations: Sequence[int], costs: Sequence[float], width: int = 60, height: int = 10
) -> list[str]:
    """Lines of a ``height``-row chart of ``costs`` against ``iterations`` (both length n),
    at most ``width`` columns wide, with the y range on the left and the x range beneath."""
    y = np.asarray(costs, dtype=float)
    if y.size == 0:
        return ["(no iterations recorded)"]
    finite = np.isfinite(y)
    y = np.where(finite, y, np.nan)
    cols = min(width, y.size)
    # Bin boundaries split n points into `cols` nearly equal consecutive groups.
    edges = np.linspace(0, y.size, cols + 1).astype(int)
    sums = np.add.reduceat(np.nan_to_num(y), edges[:-1])
    counts = np.add.reduceat(finite.astype(int), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        binned = sums / counts
    # The axis labels give the true range of the costs (a bin's mean would hide the first,
    # highest cost); columns are bin means drawn on that same scale.
    lo, hi = (np.min(y[finite]), np.max(y[finite])) if finite.any() else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    # The lowest value still gets one eighth, so every column with data is visible.
    levels = np.where(np.isnan(binned), 0, 1 + np.round((binned - lo) / span * (height * 8 - 1)))
    rows_from_bottom = np.arange(height)[:, None]
    fill = np.clip(levels[None, :] - rows_from_bottom * 8, 0, 8).astype(int)
    chars = np.array(list(BLOCKS))[fill[::-1]]
    y_hi, y_lo = f"{hi:.4g}", f"{lo:.4g}"
    pad = max(len(y_hi), len(y_lo))
    lines = []
    for r, row in enumerate(chars):
        label = y_hi if r == 0 else (y_lo if r == height - 1 else "")
        lines.append(f"{label:>{pad}} ┤{''.join(row)}".rstrip())
    first, last = str(iterations[0]), str(iterations[-1])
    axis = " " * pad + " └" + "─" * cols
    xlabels = " " * (pad + 2) + first + " " * max(1, cols - len(first) - len(last)) + last
    return [*lines, axis, xlabels + "  (iteration)"]
