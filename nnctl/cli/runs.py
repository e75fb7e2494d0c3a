"""``nnctl runs list``, ``show``, ``compare`` and ``rm``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunArg,
    RunsArg,
    RunsDirOption,
    _at_least_1,
    _complete_run,
    _find_runs,
    err_console,
    fail,
    fmt,
    handle_errors,
    out_console,
    print_json,
)
from nnctl.cli.tables import FORMATS, delimited, json_rows, text_table
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

if TYPE_CHECKING:
    from rich.console import Console

runs_app = typer.Typer(
    help="List, show, compare and remove runs.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl runs list --sort -test_accuracy
nnctl runs show latest
nnctl runs rm --filter created<30d --filter status!=complete --dry-run""",
)


def _cell(value: Any) -> str:
    from nnctl.runs import flow

    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return flow(value)  # lists and mappings as a config writes them: [relu, relu, sigmoid]


def _local_time(iso: str | None) -> str:
    """The run summary stores UTC; tables show the reader's local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return iso or "-"


def _table_console() -> Console:
    console = out_console()
    if not console.is_terminal:
        # Piped output keeps whole rows on one line instead of folding at 80 columns.
        console.width = 250
    return console


FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="table|csv|tsv|json",
        help="table: aligned columns (also when piped); csv, tsv: a header line, then one line per run; "
        "json: a list of objects.",
        autocompletion=lambda: ["table", "csv", "tsv", "json"],
    ),
]
FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        metavar="KEY=VALUE",
        help="Keep runs where KEY (a column, score or config key) matches; also !=, <, <=, >, >=; "
        "string values may be shell patterns (name='lr-*'); created and finished take a date "
        "(created<2026-11-26T10:25) or a duration ago (created<7d: older than a week). "
        "Repeatable (all must match).",
    ),
]

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


def _text_cell(key: str, value: Any) -> str:
    """A value as the table shows it: times in local time, scores to 6 significant digits,
    lists and mappings in YAML flow style, '-' for none."""
    from nnctl.runs import DATE_KEYS, flow

    if value is None:
        return "-"
    if key in DATE_KEYS:
        return _local_time(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return flow(value)


def _raw_cell(value: Any) -> str:
    """A value for CSV/TSV: full precision, empty for none, lists in YAML flow style."""
    from nnctl.runs import flow

    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else flow(value)


@runs_app.command(
    "list",
    cls=NnctlCommand,
    short_help="One row per run; choose columns, filters and format.",
    epilog="""\
nnctl runs list --sort -test_accuracy --limit 5
nnctl runs list --columns name,learning_rate,layer_dims,val_accuracy,test_accuracy
nnctl runs list --filter 'name=lr-*' --filter created>1d --format csv > runs.csv
""",
)
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
            help="The columns, in order: any of the default ones (id, name, status, created, learning_rate, "
            "iterations, final_cost, train_accuracy, test_accuracy), a score (val_accuracy, test_r2, ...), "
            "a summary field (finished, seconds, best_epoch, ...) or a config key (layer_dims, dataset.m, ...).",
        ),
    ] = None,
    format_: FormatOption = "table",
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """One row per run: id, name, status, created, learning rate, iterations, final cost,
    train and test accuracy, and test MSE and R² when a regression run is listed (oldest first
    unless --sort); --columns picks others."""
    from nnctl.runs import check_columns, default_runs_dir, field, filter_runs, list_runs, sort_runs

    if format_ not in FORMATS:
        raise fail(f"--format: got {format_!r}; valid: {', '.join(FORMATS)}")
    format_ = "json" if json_ else format_
    where = runs_dir or default_runs_dir()
    infos, warnings = list_runs(where)
    for w in warnings:
        err_console().print(f"warning: skipping {w}", markup=False)
    keys = check_columns(columns, infos) if columns else None
    infos = filter_runs(infos, filter_ or [])
    if sort:
        infos = sort_runs(infos, sort)
        if limit:
            infos = infos[:limit]
    elif limit:
        infos = infos[-limit:]
    if format_ == "json":
        if keys is None:  # every row key, as before --columns existed
            sys.stdout.write(
                json_rows(
                    [*infos[0].row, "run_dir"] if infos else [],
                    [[*i.row.values(), str(i.run_dir)] for i in infos],
                )
            )
        else:
            sys.stdout.write(json_rows(keys, [[field(i, k) for k in keys] for i in infos]))
        return
    if not infos and format_ == "table":
        err_console().print(
            f"no runs in {where}" + (" match the filters" if filter_ else ""), markup=False
        )
        return
    if keys is None:
        cols = list(_DEFAULT_COLUMNS)
        if any(i.row["test_mse"] is not None for i in infos):
            cols += _REGRESSION_COLUMNS  # classifier listings stay as they were
        keys, headers = [k for k, _ in cols], [h for _, h in cols]
    else:
        headers = keys
    if format_ in ("csv", "tsv"):
        rows = [[_raw_cell(field(i, k)) for k in keys] for i in infos]
        sys.stdout.write(delimited(keys, rows, "," if format_ == "csv" else "\t"))
        return
    rows = []
    for i in infos:
        cells = []
        for k in keys:
            value = field(i, k)
            if k == "iterations" and i.row["iterations_done"] != i.row["iterations"]:
                cells.append(
                    f"{_cell(i.row['iterations_done'])}/{_cell(value)}"
                )  # an unfinished run
            elif k in ("final_cost",):
                cells.append(fmt(value))
            elif k in ("train_accuracy", "test_accuracy", "test_mse", "test_r2") and not columns:
                cells.append(fmt(value, 4))
            else:
                cells.append(_text_cell(k, value))
        rows.append(cells)
    sys.stdout.write(text_table(headers, rows, [k not in _LEFT for k in keys]))
    sys.stdout.flush()


def _model_summary(s: Any) -> Any:
    """The model summary of a run (``s``: its ``RunSummary``): a batch is its batch_size, or
    the whole training set."""
    from nnctl.core import summarize

    if not s.layer_dims or not s.activations:
        return None
    n_train = (s.dataset or {}).get("n_train")
    batch = (s.config or {}).get("batch_size") or n_train
    if isinstance(batch, int) and isinstance(n_train, int):
        batch = min(batch, n_train)
    return summarize(
        s.layer_dims, s.activations, s.dtype or "float64", batch if isinstance(batch, int) else None
    )


@runs_app.command(
    "show",
    cls=NnctlCommand,
    short_help="A run's config, summary, model and cost curve.",
    epilog="""\
nnctl runs show latest
nnctl runs show 20261126-1015 --json | jq .summary.test_accuracy
""",
)
@handle_errors
def runs_show(
    run: RunArg,
    json_: Annotated[
        bool, typer.Option("--json", help="Print config, summary and history as one JSON object.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """A run's resolved config, its summary, and its cost curve drawn in the terminal."""
    from nnctl.cli.textplot import curve_lines
    from nnctl.core import summary_lines
    from nnctl.runs import (
        CONFIG_FILE,
        SUMMARY_FILE,
        config_file,
        read_config_text,
        read_history,
        read_run,
    )

    (run_dir,) = _find_runs([run], runs_dir)
    info = read_run(run_dir)
    its, costs = read_history(run_dir)
    config_text = read_config_text(run_dir) or ""
    summary = {
        **info.summary.to_json(),
        "status": info.row["status"],
    }  # "stale": its process is gone
    if json_:
        from nnctl.config import parse_yaml  # a damaged config file is one error line

        print_json(
            {
                "run_dir": str(run_dir),
                "config": parse_yaml(config_text, str(config_file(run_dir)))
                if config_text
                else None,
                "summary": summary,
                "history": {"iteration": its, "cost": costs},
            }
        )
        return
    console = _table_console()
    console.print(f"run {info.row['id']}  ({run_dir})", markup=False)
    console.print(f"\n{CONFIG_FILE}")
    console.print(config_text.rstrip() or "(missing)", markup=False)
    console.print(f"\n{SUMMARY_FILE}")
    shown = {
        k: v
        for k, v in summary.items()
        if k not in ("layer_dims", "activations", "loss", "dtype", "run_id", "name", "config")
    }
    width = max(map(len, shown), default=0)  # the rest is already in the config or the header
    for k, v in shown.items():
        value = json.dumps(v) if isinstance(v, (dict, list)) else ("-" if v is None else str(v))
        console.print(f"{k:<{width}}  {value}", markup=False)
    model = _model_summary(info.summary)
    if model is not None:
        console.print("\nmodel")
        for line in summary_lines(model):
            console.print(line, markup=False, highlight=False)
    console.print("\ncost")
    for line in curve_lines(its, costs, width=min(60, max(10, console.width - 14))):
        console.print(line, markup=False, highlight=False)


@runs_app.command(
    "compare",
    cls=NnctlCommand,
    short_help="Runs side by side: metrics and differing config keys.",
    epilog="""\
nnctl runs compare 20261126-1015 20261126-1022
nnctl runs compare 20261126-1015 latest --json
""",
)
@handle_errors
def runs_compare(
    runs: RunsArg,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the comparison as one JSON object.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Metrics of two or more runs side by side, and only the config keys that differ."""
    from nnctl.runs import compare_runs, read_run
    from nnctl.system import UsageError

    if len(runs) < 2:
        raise UsageError("runs compare needs at least two runs (use 'nnctl runs show RUN' for one)")
    cmp = compare_runs([read_run(d) for d in _find_runs(runs, runs_dir)])
    if json_:
        print_json(
            {
                "runs": cmp.ids,
                "names": cmp.names,
                "metrics": dict(cmp.metrics),
                "config_differences": dict(cmp.differing),
            }
        )
        return
    from rich.markup import escape  # run names like x[/] are text, not markup
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("")
    for rid, name in zip(cmp.ids, cmp.names):
        table.add_column(escape(f"{rid}\n{name}"), no_wrap=True, justify="right")
    for k, values in cmp.metrics:
        table.add_row(escape(_cell(k)), *(escape(_cell(v)) for v in values))
    table.add_row()
    differing = [(k, v) for k, v in cmp.differing if k != "name"]  # names head the columns
    for k, values in differing:
        table.add_row(escape(_cell(k)), *(escape(_cell(v)) for v in values))
    if not differing:
        table.add_row("(config)", *(["identical"] * len(cmp.ids)))
    _table_console().print(table)


@runs_app.command(
    "rm",
    cls=NnctlCommand,
    short_help="Delete runs, named or matching filters.",
    epilog="""\
nnctl runs rm 20261126-1015 --yes
nnctl runs rm --filter created<30d --filter status!=complete --dry-run
nnctl runs rm --filter 'name=scratch-*' --yes
""",
)
@handle_errors
def runs_rm(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[RUN]...",
            help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.",
            show_default=False,
            autocompletion=_complete_run,
        ),
    ] = None,
    filter_: FilterOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the ids that would be deleted (stdout) and delete nothing."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Delete run directories, named or matching every --filter (asks first unless --yes);
    prints the deleted run ids."""
    from nnctl.runs import check_removable, default_runs_dir, filter_runs, list_runs, remove_run
    from nnctl.system import UsageError

    if runs and filter_:
        raise UsageError("runs rm takes RUNs or --filter, not both")
    if not runs and not filter_:
        raise UsageError("runs rm needs RUNs or --filter KEY=VALUE (e.g. --filter created<30d)")
    if runs:
        dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    else:
        infos, warnings = list_runs(runs_dir or default_runs_dir())
        for w in warnings:
            err_console().print(f"warning: skipping {w}", markup=False)
        dirs = [i.run_dir for i in filter_runs(infos, filter_ or [])]
        if not dirs:
            err_console().print("no runs match the filters; nothing deleted", markup=False)
            return
    summaries = [check_removable(d) for d in dirs]
    if dry_run:
        for d, s in zip(dirs, summaries):
            print(d.name, flush=True)
        err_console().print(
            f"dry run: would delete {len(dirs)} run(s); nothing deleted", markup=False
        )
        return
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
