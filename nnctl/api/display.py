"""How a ``Run`` shows itself in a notebook (``_repr_html_``): its id, name and status, the
layers, its scores and the cost curve as inline SVG, drawn by the report's own ``line_chart``.
A run whose files cannot be read says so in the cell instead of raising."""

from __future__ import annotations

import html
from typing import Any

from nnctl.system import NnctlError

# the report page's chart styles that matter inside a notebook (axes, grid and labels)
_STYLE = (
    "<style>.nnctl-run svg{max-width:640px;height:auto;background:#fff}"
    ".nnctl-run svg text{font-size:12px;fill:#444}"
    ".nnctl-run .grid{stroke:#e6e9ed;stroke-width:1}"
    ".nnctl-run .frame{fill:none;stroke:#9aa3ad}"
    ".nnctl-run td,.nnctl-run th{padding:1px 8px;text-align:left}</style>"
)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape("-" if value is None else str(value))


def _cost_chart(run: Any) -> str:
    from nnctl.commands.report.svg import Series, line_chart

    h = run.history
    if h.costs.size == 0:
        return ""
    return line_chart([Series("", h.iterations, h.costs)], "iteration", "cost", title="cost")


def run_html(run: Any) -> str:
    """One ``<div>``: a table of the run's facts and scores, then its cost curve."""
    try:
        s = run.summary
        status = run.status
        chart = _cost_chart(run)
    except NnctlError as exc:
        return f"<div class='nnctl-run'><b>run {html.escape(run.dir.name)}</b>: " + (
            f"{html.escape(str(exc))}</div>"
        )
    rows = [
        ("status", status + (f": {s.message}" if s.message else "")),
        ("layers", s.layer_dims),
        ("activations", ", ".join(s.activations or [])),
        ("iterations", f"{s.iterations_done}/{s.iterations}"),
        ("final cost", s.final_cost),
        *((k, v) for k, v in s.scores.items() if v is not None),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rows)
    title = f"run {html.escape(str(s.run_id or run.dir.name))}: {html.escape(str(s.name))}"
    return f"{_STYLE}<div class='nnctl-run'><b>{title}</b><table>{table}</table>{chart}</div>"
