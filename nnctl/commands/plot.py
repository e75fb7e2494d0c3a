"""Learning curves of several runs on one figure (``nnctl plot``), or one metric of several
runs against a config key (``nnctl plot --against KEY``, e.g. a sweep's trials), drawn with
matplotlib.

matplotlib is the optional extra ``plot`` (``pip install 'nnctl[plot]'``); without it
``plot_curves`` raises UsageError saying how to install it. The figure is rendered in memory
and written atomically, so a failed plot never leaves a truncated image behind.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path

from nnctl import runs
from nnctl.system import UsageError

FORMATS = ("png", "pdf", "svg")
LABEL_WIDTH = 90  # characters per legend line
INSTALL_HINT = "pip install 'nnctl[plot]'  (or: pip install matplotlib)"


def _check_out(out: Path) -> str:
    """The image format of ``out`` (its suffix); refuses an unknown one or a missing folder."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(
            f"-o {out}: unknown image format {out.suffix or '(none)'!r}; use a file ending in "
            + ", ".join(f".{f}" for f in FORMATS)
        )
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: directory {out.parent} does not exist")
    return fmt


def plot_curves(
    curves: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    out: Path,
    log_scale: bool = False,
    title: str | None = None,
) -> None:
    """Writes one figure with a cost-vs-iteration line per (label, iterations, costs)."""
    fmt = _check_out(out)
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window or need a display
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(
            f"nnctl plot needs matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        ) from None

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        for label, its, costs in curves:
            # labels carry every differing config key and can be long: wrap rather than clip
            ax.plot(its, costs, label=textwrap.fill(label, LABEL_WIDTH), linewidth=1.5)
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("cost" + (" (log scale)" if log_scale else ""))
        ax.set_title(title or "learning curves")
        ax.grid(True, alpha=0.3)
        # below the axes, so a legend never covers the curves or runs off the figure
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, bbox_inches="tight")
    finally:
        plt.close(fig)
    runs.atomic_write(out, buf.getvalue())


def plot_metric(
    points: Sequence[tuple[float, float, str]],
    key: str,
    metric: str,
    out: Path,
    title: str | None = None,
) -> None:
    """Writes one scatter figure of ``metric`` against ``key``, one point per (x, y, status)
    (complete runs filled, pruned ones hollow). The x axis is logarithmic when the values are
    positive and span more than two decades (a learning rate drawn from log_uniform)."""
    fmt = _check_out(out)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(
            f"nnctl plot needs matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        ) from None

    xs = [x for x, _, _ in points]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        for status, style in (
            ("complete", {}),
            ("pruned", {"facecolors": "none", "edgecolors": "C0"}),
        ):
            sel = [(x, y) for x, y, s in points if s == status]
            if sel:
                ax.scatter(
                    [x for x, _ in sel],
                    [y for _, y in sel],
                    label=f"{status} ({len(sel)})",
                    **style,
                )
        if xs and min(xs) > 0 and max(xs) / min(xs) > 100:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.set_title(title or f"{metric} against {key}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, bbox_inches="tight")
    finally:
        plt.close(fig)
    runs.atomic_write(out, buf.getvalue())
