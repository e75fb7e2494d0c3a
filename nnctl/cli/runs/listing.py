"""``nnctl runs list``: one row per run, as an aligned table, CSV/TSV or JSON, drawn from
``nnctl.api.select_runs`` (the selection ``nnctl.list_runs`` makes its rows of)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    RunsDirOption,
    _at_least_1,
    err_console,
    fail,
    fmt,
    handle_errors,
    library_warnings,
)
from nnctl.cli.runs.cells import cell, raw_cell, text_cell
from nnctl.cli.runs.options import FilterOption, FormatOption
from nnctl.cli.tables import FORMATS, delimited, json_rows, text_table

EXAMPLES = """\
nnctl runs list --sort -test_accuracy --limit 5
nnctl runs list --columns name,learning_rate,layer_dims,val_accuracy,test_accuracy
nnctl runs list --filter 'name=lr-*' --filter created>1d --format csv > runs.csv
"""

# The default table: (key, header); regression columns only when a regression run is listed.
_DEFAULT_COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("created", "created"),
    ("learning_rate", "lr"),
    ("iterations", "iterations"),
    ("final_cost", "final cost"),
    ("train_accuracy", "train acc"),
    ("test_accuracy", "test acc"),
)
_REGRESSION_COLUMNS = (("test_mse", "test MSE"), ("test_r2", "test R²"))
# Columns of text, aligned left; the rest are numbers, aligned right.
_LEFT = {
    "id",
    "name",
    "status",
    "created",
    "finished",
    "run_dir",
    "message",
    "task",
    "loss",
    "dtype",
    "activations",
    "layer_dims",
    "optimizer",
    "init",
    "cpu",
}


@handle_errors
def runs_list(
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="Sort by a column or config key; -KEY for descending, e.g. --sort -test_accuracy.",
        ),
    ] = None,
    filter_: FilterOption = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            callback=_at_least_1,
            metavar="N",
            help="Show only N runs: the first N after --sort, else the N newest.",
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="KEY,KEY...",
            help="The columns, in order: any of the default ones (id, name, status, created, "
            "learning_rate, iterations, final_cost, train_accuracy, test_accuracy), a score "
            "(val_accuracy, test_r2, ...), a summary field (finished, seconds, best_epoch, ...) "
            "or a config key (layer_dims, dataset.m, ...).",
        ),
    ] = None,
    format_: FormatOption = "table",
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """One row per run: id, name, status, created, learning rate, iterations, final cost,
    train and test accuracy, and test MSE and R² when a regression run is listed (oldest first
    unless --sort); --columns picks others."""
    from nnctl.api import select_runs

    if format_ not in FORMATS:
        raise fail(f"--format: got {format_!r}; valid: {', '.join(FORMATS)}")
    format_ = "json" if json_ else format_

    def skipped(message: str) -> None:
        err_console().print(f"warning: {message}", markup=False)

    with library_warnings(skipped):
        chosen = select_runs(
            filter_ or [], sort, limit=limit, columns=columns or None, runs_dir=runs_dir
        )
    if format_ == "json":  # the rows of nnctl.list_runs(as_frame=False)
        records = chosen.records()
        keys = chosen.keys if chosen.keys is not None else list(records[0]) if records else []
        sys.stdout.write(json_rows(keys, [[r[k] for k in keys] for r in records]))
        return
    if not chosen.infos and format_ == "table":
        err_console().print(
            f"no runs in {chosen.runs_dir}" + (" match the filters" if filter_ else ""),
            markup=False,
        )
        return
    keys = chosen.keys
    if keys is None:
        cols = list(_DEFAULT_COLUMNS)
        if any(r["test_mse"] is not None for r in chosen.records(["test_mse"])):
            cols += _REGRESSION_COLUMNS  # classifier listings stay as they were
        keys, headers = [k for k, _ in cols], [h for _, h in cols]
    else:
        headers = keys
    records = chosen.records(keys)
    if format_ in ("csv", "tsv"):
        rows = [[raw_cell(r[k]) for k in keys] for r in records]
        sys.stdout.write(delimited(keys, rows, "," if format_ == "csv" else "\t"))
        return
    lengths = chosen.records(["iterations_done", "iterations"])
    rows = [_table_row(r, n, keys, default_columns=not columns) for r, n in zip(records, lengths)]
    sys.stdout.write(text_table(headers, rows, [k not in _LEFT for k in keys]))
    sys.stdout.flush()


def _table_row(
    values: dict[str, Any], length: dict[str, Any], keys: list[str], default_columns: bool
) -> list[str]:
    """The table's cells of one run (``values``: its record of ``keys``; ``length``: its
    ``iterations_done`` and ``iterations``); the default columns show accuracies and regression
    scores to 4 decimals."""
    cells = []
    for k in keys:
        value = values[k]
        if k == "iterations" and length["iterations_done"] != length["iterations"]:
            # an unfinished run
            cells.append(f"{cell(length['iterations_done'])}/{cell(value)}")
        elif k in ("final_cost",):
            cells.append(fmt(value))
        elif k in ("train_accuracy", "test_accuracy", "test_mse", "test_r2") and default_columns:
            cells.append(fmt(value, 4))
        else:
            cells.append(text_cell(k, value))
    return cells
