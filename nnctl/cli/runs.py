"""``nnctl runs list``, ``show``, ``compare`` and ``rm``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunArg,
    RunsArg,
    RunsDirOption,
    _find_runs,
    err_console,
    fmt,
    handle_errors,
    out_console,
    print_json,
)

if TYPE_CHECKING:
    from rich.console import Console

runs_app = typer.Typer(
    help="List, show, compare and remove runs.", no_args_is_help=True, rich_markup_mode=None
)


def _cell(value: Any) -> str:
    """A table cell. Text is escaped: a run name like ``x[/]`` is shown, not read as markup."""
    from rich.markup import escape

    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))


def _local_time(iso: Optional[str]) -> str:
    """The run summary stores UTC; tables show the reader's local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return iso or "-"


def _table_console() -> "Console":
    console = out_console()
    if not console.is_terminal:
        # Piped output keeps whole rows on one line instead of folding at 80 columns.
        console.width = 250
    return console


@runs_app.command("list")
@handle_errors
def runs_list(
    sort: Annotated[
        Optional[str],
        typer.Option("--sort", metavar="KEY", help="Sort by a column or config key; -KEY for descending, e.g. --sort -test_accuracy."),
    ] = None,
    filter_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--filter",
            metavar="KEY=VALUE",
            help="Keep runs where KEY (a column or config key) matches; also !=, <, <=, >, >=; "
            "string values may be shell patterns (name='lr-*'). Repeatable (all must match).",
        ),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option("--limit", min=1, metavar="N", help="Show only N runs: the first N after --sort, else the N newest."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list of runs on stdout.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """One row per run: id, name, status, created, learning rate, iterations, final cost,
    train and test accuracy, and test MSE and R² when a regression run is listed (oldest first
    unless --sort)."""
    from nnctl.runs import default_runs_dir
    from nnctl.runtable import filter_runs, list_runs, sort_runs

    where = runs_dir or default_runs_dir()
    infos, warnings = list_runs(where)
    for w in warnings:
        err_console().print(f"warning: skipping {w}")
    infos = filter_runs(infos, filter_ or [])
    if sort:
        infos = sort_runs(infos, sort)
        if limit:
            infos = infos[:limit]
    elif limit:
        infos = infos[-limit:]
    if json_:
        print_json([{**i.row, "run_dir": str(i.run_dir)} for i in infos])
        return
    if not infos:
        err_console().print(f"no runs in {where}" + (" match the filters" if filter_ else ""))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    headers = ["id", "name", "status", "created", "lr", "iterations", "final cost", "train acc", "test acc"]
    regression = any(i.row["test_mse"] is not None for i in infos)
    if regression:  # only when there is something to show: classifier listings stay as they were
        headers += ["test MSE", "test R²"]
    for h in headers:
        table.add_column(h, no_wrap=True, justify="right" if h not in ("id", "name", "status", "created") else "left")
    for i in infos:
        r = i.row
        its = _cell(r["iterations_done"])
        if r["iterations_done"] != r["iterations"]:
            its = f"{its}/{_cell(r['iterations'])}"
        created = _local_time(r["created"])
        table.add_row(
            _cell(r["id"]), _cell(r["name"]), _cell(r["status"]), created, _cell(r["learning_rate"]), its,
            fmt(r["final_cost"]), fmt(r["train_accuracy"], 4), fmt(r["test_accuracy"], 4),
            *([fmt(r["test_mse"], 4), fmt(r["test_r2"], 4)] if regression else []),
        )
    _table_console().print(table)


@runs_app.command("show")
@handle_errors
def runs_show(
    run: RunArg,
    json_: Annotated[bool, typer.Option("--json", help="Print config, summary and history as one JSON object.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """A run's resolved config, its summary, and its cost curve drawn in the terminal."""
    from nnctl.cli.textplot import curve_lines
    from nnctl.runs import CONFIG_FILE, SUMMARY_FILE, config_file, read_config_text, read_history
    from nnctl.runtable import read_run

    (run_dir,) = _find_runs([run], runs_dir)
    info = read_run(run_dir)
    its, costs = read_history(run_dir)
    config_text = read_config_text(run_dir) or ""
    summary = {**info.summary.to_json(), "status": info.row["status"]}  # "stale": its process is gone
    if json_:
        from nnctl.config import parse_yaml  # a damaged config file is one error line

        print_json({
            "run_dir": str(run_dir),
            "config": parse_yaml(config_text, str(config_file(run_dir))) if config_text else None,
            "summary": summary,
            "history": {"iteration": its, "cost": costs},
        })
        return
    console = _table_console()
    console.print(f"run {info.row['id']}  ({run_dir})", markup=False)
    console.print(f"\n{CONFIG_FILE}")
    console.print(config_text.rstrip() or "(missing)", markup=False)
    console.print(f"\n{SUMMARY_FILE}")
    shown = {k: v for k, v in summary.items()
             if k not in ("layer_dims", "activations", "loss", "dtype", "run_id", "name", "config")}
    width = max(map(len, shown), default=0)  # the rest is already in the config or the header
    for k, v in shown.items():
        value = json.dumps(v) if isinstance(v, (dict, list)) else ("-" if v is None else str(v))
        console.print(f"{k:<{width}}  {value}", markup=False)
    console.print("\ncost")
    for line in curve_lines(its, costs, width=min(60, max(10, console.width - 14))):
        console.print(line, markup=False, highlight=False)


@runs_app.command("compare")
@handle_errors
def runs_compare(
    runs: RunsArg,
    json_: Annotated[bool, typer.Option("--json", help="Print the comparison as one JSON object.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Metrics of two or more runs side by side, and only the config keys that differ."""
    from nnctl.errors import UsageError
    from nnctl.runtable import compare_runs, read_run

    if len(runs) < 2:
        raise UsageError("runs compare needs at least two runs (use 'nnctl runs show RUN' for one)")
    cmp = compare_runs([read_run(d) for d in _find_runs(runs, runs_dir)])
    if json_:
        print_json({
            "runs": cmp.ids,
            "names": cmp.names,
            "metrics": dict(cmp.metrics),
            "config_differences": dict(cmp.differing),
        })
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("")
    for rid, name in zip(cmp.ids, cmp.names):
        table.add_column(_cell(f"{rid}\n{name}"), no_wrap=True, justify="right")
    for k, values in cmp.metrics:
        table.add_row(_cell(k), *(_cell(v) for v in values))
    table.add_row()
    differing = [(k, v) for k, v in cmp.differing if k != "name"]  # names head the columns
    for k, values in differing:
        table.add_row(_cell(k), *(_cell(v) for v in values))
    if not differing:
        table.add_row("(config)", *(["identical"] * len(cmp.ids)))
    _table_console().print(table)


@runs_app.command("rm")
@handle_errors
def runs_rm(
    runs: RunsArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Delete run directories (asks first unless --yes); prints the deleted run ids."""
    from nnctl.runtable import check_removable, remove_run

    dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    summaries = [check_removable(d) for d in dirs]
    if not yes:
        console = err_console()
        for d, s in zip(dirs, summaries):
            console.print(f"  {d}  ({s.name}, {s.status})", markup=False)
        # Not typer.confirm: it writes a stray space to stdout, which belongs to results.
        console.print(f"Delete {len(dirs)} run(s)? [y/N] ", end="", markup=False)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            console.print("nothing deleted")
            raise typer.Exit(EXIT_FAILED)
    for d in dirs:
        remove_run(d)
        print(d.name, flush=True)
