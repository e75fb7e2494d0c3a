"""The HTML the report's sections are made of: escaped text, numbers, tables, key-value
tables, and config values written as YAML flow style."""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value))


def num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if 1e-3 <= abs(v) < 1e6 or v == 0 else f"{v:.{digits}g}"
    return esc(v)


def table(
    rows: list[tuple[Any, ...]],
    header: tuple[str, ...] | None = None,
    cls: str = "",
    row_header: bool = False,
) -> str:
    """Cells are HTML already; ``row_header``: each row's first cell is its header."""
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<th>{c}</th>" if row_header and i == 0 else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table class="{cls}">{head}{body}</table></div>'


def kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv">{body}</table></div>'


def yamlish(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {yamlish(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(yamlish(x) for x in v) + "]"
    return "null" if v is None else str(v)
