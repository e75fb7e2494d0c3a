"""Options more than one runs command declares."""

from __future__ import annotations

from typing import Annotated

import typer

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="table|csv|tsv|json",
        help="table: aligned columns (also when piped); csv, tsv: a header line, then one line "
        "per run; json: a list of objects.",
        autocompletion=lambda: ["table", "csv", "tsv", "json"],
    ),
]
FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        metavar="KEY=VALUE",
        help="Keep runs where KEY (a column, score or config key) matches; also !=, <, <=, >, "
        ">=; string values may be shell patterns (name='lr-*'); created and finished take a "
        "date (created<2026-11-26T10:25) or a duration ago (created<7d: older than a week). "
        "Repeatable (all must match).",
    ),
]
