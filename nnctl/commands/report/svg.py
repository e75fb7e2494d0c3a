"""Hand-written inline SVG charts for the HTML report: line charts (linear or log y) and
scatter plots. No matplotlib, no script: each chart is a string of ``<svg>`` markup that scales
with its container (``viewBox`` + ``width: 100%``), so the page reads on a phone and a desktop.

The ``<svg>`` elements carry no ``xmlns``: inline SVG in HTML does not need it, and the report
promises no ``http://`` string anywhere in the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_POINTS = 800  # per series: more points than pixels only makes the page heavier

W, H = 640, 300  # the viewBox; the chart scales to its container
# Values beyond +-CLIP are drawn at it, and the chart says so: the axis arithmetic of values near
# the float limit (1.8e308) overflows (a span of -1e308..1e308, a tick past the largest
# float, 10**p of a padded log axis). No history worth reading comes near it; a diverged one
# does, and is still drawn.
CLIP = 1e300
CLIPPED_NOTE = f"values beyond &#177;{CLIP:.0e} are drawn at the edge of the chart"
MAX_DECADE_TICKS = 24  # a log axis over more decades labels every k-th decade
LEFT, RIGHT, TOP, BOTTOM = 62, 12, 12, 42


@dataclass
class Series:
    """One line or set of points: xs, ys of equal length (sequences of numbers)."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str = PALETTE[0]
    opacity: float = 1.0
    width: float = 1.6
    dashed: bool = False


def clip(v: np.ndarray) -> tuple[np.ndarray, bool]:
    """Finite values limited to +-CLIP, and whether any was beyond it. v: (n,) -> (n,)."""
    out = np.clip(v, -CLIP, CLIP)
    return out, bool(np.any(np.abs(v) > CLIP))


def smooth(ys: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (shorter at the start), so per-batch
    noise does not hide the trend; the first value is kept as is. Values beyond +-CLIP count as
    CLIP (their running sum would overflow). ys: (n,) -> (n,)."""
    y = np.asarray(ys, dtype=float)
    y = np.where(np.isfinite(y), clip(y)[0], y)
    if window <= 1 or y.size == 0:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    idx = np.arange(1, y.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _thin(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_POINTS evenly strided points, always keeping the last one."""
    if xs.size <= MAX_POINTS:
        return xs, ys
    keep = np.unique(np.append(np.linspace(0, xs.size - 1, MAX_POINTS).astype(int), xs.size - 1))
    return xs[keep], ys[keep]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times 10^k)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 5, 10) if s * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks for a log10 axis spanning [lo, hi] (in log10 units), as (positions, labels): whole
    decades over a wide range, 1-2-5 steps over one or two decades, and round values of the
    data itself over less (so a cost falling from 0.69 to 0.6 gets 0.6, 0.65, 0.7)."""
    if hi - lo > 2.5:
        stride = max(1, math.ceil((hi - lo) / MAX_DECADE_TICKS))
        pos = [float(k) for k in range(math.ceil(lo), math.floor(hi) + 1, stride)]
    elif hi - lo > 0.7:
        pos = [
            math.log10(m * 10.0**k)
            for k in range(math.floor(lo), math.ceil(hi) + 1)
            for m in (1, 2, 5)
        ]
        pos = [p for p in pos if lo - 1e-9 <= p <= hi + 1e-9]
    else:
        pos = [math.log10(t) for t in nice_ticks(10**lo, 10**hi, 4) if t > 0]
        pos = [p for p in pos if lo - 0.05 <= p <= hi + 0.05]
    return pos, [_fmt(10**p) for p in pos]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _frame(
    x_ticks: list[float],
    y_ticks: list[float],
    sx,
    sy,
    x_label: str,
    y_label: str,
    y_tick_text: list[str] | None = None,
) -> list[str]:
    """Axes, grid lines and labels."""
    out = []
    for t, text in zip(y_ticks, y_tick_text or [_fmt(t) for t in y_ticks]):
        y = sy(t)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{html.escape(text)}</text>'
        )
    for t in x_ticks:
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{H - BOTTOM}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
        'class="frame"/>'
    )
    out.append(
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 6}" text-anchor="middle" class="label">'
        f"{html.escape(x_label)}</text>"
    )
    out.append(
        f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" class="label" '
        f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">{html.escape(y_label)}</text>'
    )
    return out


def _legend(series: Sequence[Series]) -> str:
    named = [s for s in series if s.name]
    if len(named) < 2:
        return ""
    items = "".join(
        f'<span><i style="background:{s.color};opacity:{max(s.opacity, 0.5)}"></i>'
        f"{html.escape(s.name)}</span>"
        for s in named
    )
    return f'<div class="legend">{items}</div>'


def _svg(title: str, parts: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">'
        f"{''.join(parts)}</svg>"
    )


def _figure(title: str, parts: list[str], legend: str = "", clipped: bool = False) -> str:
    note = f'<p class="note">{CLIPPED_NOTE}</p>' if clipped else ""
    svg = _svg(title, parts)
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{svg}{legend}{note}</figure>"


def _no_data(title: str) -> str:
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        '<p class="note">no data to draw</p></figure>'
    )


def line_chart(
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    log_y: bool = False,
    title: str = "",
    y_range: tuple[float, float] | None = None,
) -> str:
    """A line chart of every series on shared axes; ``log_y`` takes log10 of y (values <= 0
    are left out). Returns a ``<figure>`` holding the SVG and, for several named series, a
    legend."""
    prepared = []
    clipped = False
    for s in series:
        xs, ys = np.asarray(s.xs, dtype=float), np.asarray(s.ys, dtype=float)
        ok = np.isfinite(xs) & np.isfinite(ys) & ((ys > 0) if log_y else True)
        (xs, x_clipped), (ys, y_clipped) = clip(xs[ok]), clip(ys[ok])
        clipped = clipped or x_clipped or y_clipped
        xs, ys = _thin(xs, ys)
        prepared.append((s, xs, np.log10(ys) if log_y else ys))
    non_empty = [p for p in prepared if p[1].size]
    if not non_empty:
        return _no_data(title)
    x_lo = min(p[1].min() for p in non_empty)
    x_hi = max(p[1].max() for p in non_empty)
    if y_range is not None:
        y_lo, y_hi = y_range
    else:
        y_lo = min(p[2].min() for p in non_empty)
        y_hi = max(p[2].max() for p in non_empty)
    if log_y:
        y_ticks, y_text = _log_ticks(y_lo, y_hi)
        pad = (y_hi - y_lo) * 0.04 or 0.1
        y_lo, y_hi = min([y_lo - pad, *y_ticks]), max([y_hi + pad, *y_ticks])
    else:
        y_ticks = nice_ticks(y_lo, y_hi, 5)
        y_lo, y_hi = min(y_lo, y_ticks[0]), max(y_hi, y_ticks[-1])
        y_text = None
    x_ticks = [t for t in nice_ticks(x_lo, x_hi, 6) if x_lo <= t <= x_hi]
    x_span = (x_hi - x_lo) or 1.0
    y_span = (y_hi - y_lo) or 1.0

    def sx(x: float) -> float:
        return LEFT + (x - x_lo) / x_span * (W - LEFT - RIGHT)

    def sy(y: float) -> float:
        return H - BOTTOM - (y - y_lo) / y_span * (H - TOP - BOTTOM)

    parts = _frame(
        x_ticks, y_ticks, sx, sy, x_label, y_label + (" (log scale)" if log_y else ""), y_text
    )
    for s, xs, ys in prepared:
        if xs.size == 0:
            continue
        if xs.size == 1:
            parts.append(
                f'<circle cx="{sx(xs[0]):.1f}" cy="{sy(ys[0]):.1f}" r="3" fill="{s.color}"/>'
            )
            continue
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="{s.width}" '
            f'stroke-opacity="{s.opacity}"{dash}/>'
        )
    return _figure(title, parts, _legend(series), clipped)


def scatter(
    xs: Sequence[float],
    ys: Sequence[float],
    x_label: str,
    y_label: str,
    title: str = "",
    diagonal: bool = False,
    zero_line: bool = False,
    color: str = PALETTE[0],
) -> str:
    """Points (x, y); ``diagonal`` draws y = x (perfect predictions), ``zero_line`` y = 0."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    (x, x_clipped), (y, y_clipped) = clip(x[ok]), clip(y[ok])
    if x.size == 0:
        return _no_data(title)
    lo_x, hi_x, lo_y, hi_y = x.min(), x.max(), y.min(), y.max()
    if diagonal:  # same range on both axes, so the diagonal is at 45 degrees in data terms
        lo_x = lo_y = min(lo_x, lo_y)
        hi_x = hi_y = max(hi_x, hi_y)
    if zero_line:
        lo_y, hi_y = min(lo_y, 0.0), max(hi_y, 0.0)
    xt, yt = nice_ticks(lo_x, hi_x, 6), nice_ticks(lo_y, hi_y, 5)
    lo_x, hi_x, lo_y, hi_y = (
        min(lo_x, xt[0]),
        max(hi_x, xt[-1]),
        min(lo_y, yt[0]),
        max(hi_y, yt[-1]),
    )

    def sx(v: float) -> float:
        return LEFT + (v - lo_x) / ((hi_x - lo_x) or 1.0) * (W - LEFT - RIGHT)

    def sy(v: float) -> float:
        return H - BOTTOM - (v - lo_y) / ((hi_y - lo_y) or 1.0) * (H - TOP - BOTTOM)

    parts = _frame(xt, yt, sx, sy, x_label, y_label)
    if diagonal:
        a, b = max(lo_x, lo_y), min(hi_x, hi_y)
        parts.append(
            f'<line x1="{sx(a):.1f}" y1="{sy(a):.1f}" x2="{sx(b):.1f}" y2="{sy(b):.1f}" '
            'class="ref"/>'
        )
    if zero_line:
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" class="ref"/>'
        )
    keep = np.linspace(0, x.size - 1, min(x.size, 2000)).astype(int)
    parts += [
        f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="2.5" fill="{color}" fill-opacity="0.6"/>'
        for a, b in zip(x[keep], y[keep])
    ]
    return _figure(title, parts, clipped=x_clipped or y_clipped)
