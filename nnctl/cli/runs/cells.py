"""How the runs commands write a value in a table cell or a CSV field, and the console their
tables go to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnctl.cli.common import out_console

if TYPE_CHECKING:
    from rich.console import Console


def cell(value: Any) -> str:
    """A value in a table: floats to 6 significant digits, '-' for none."""
    from nnctl.runs import flow

    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return flow(value)  # lists and mappings as a config writes them: [relu, relu, sigmoid]


def local_time(iso: str | None) -> str:
    """The run summary stores UTC; tables show the reader's local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return iso or "-"


def text_cell(key: str, value: Any) -> str:
    """A value as the table shows it: times in local time, scores to 6 significant digits,
    lists and mappings in YAML flow style, '-' for none."""
    from nnctl.runs import DATE_KEYS

    if key in DATE_KEYS and value is not None:
        return local_time(value)
    return cell(value)


def raw_cell(value: Any) -> str:
    """A value for CSV/TSV: full precision, empty for none, lists in YAML flow style."""
    from nnctl.runs import flow

    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else flow(value)


def table_console() -> Console:
    """The stdout console of a table."""
    console = out_console()
    if not console.is_terminal:
        # Piped output keeps whole rows on one line instead of folding at 80 columns.
        console.width = 250
    return console
