"""The command line: parses arguments, calls the library, prints. The only module that imports
typer. Human-readable output goes to stderr; stdout carries only results (a run id, a table,
or JSON with --json), so commands compose in shell scripts.

Heavy modules (numpy, h5py, Pillow) are imported inside the commands that need them, so
``nnctl --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterator, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Train fully connected L-layer neural networks in plain numpy, driven by YAML configs.",
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def err_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console() -> "Console":
    from rich.console import Console

    # Results piped to a file or another program must not be cut at 80 columns.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Prints one error line to stderr and returns the Exit to raise."""
    print_error(message)
    return typer.Exit(code)


def print_error(message: str) -> None:
    """One "error: ..." line on stderr. The message is escaped: config errors quote values like
    [auto, 20, 7, 1] and 'nnctl[plot]', which rich would otherwise take for markup and drop."""
    from rich.markup import escape

    err_console().print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)


def handle_errors(fn: Callable) -> Callable:
    """Library errors become one line on stderr and their exit status; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from nnctl.errors import NnctlError

        try:
            return fn(*args, **kwargs)
        except NnctlError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


def fmt(value: Optional[float], digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _version(value: bool) -> None:
    if value:
        import nnctl

        print(f"nnctl {nnctl.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Train fully connected L-layer neural networks in plain numpy, driven by YAML configs."""


# --------------------------------------------------------------------------- train

SetOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a config key (value parsed as YAML; repeatable), e.g. --set learning_rate=0.01.",
    ),
]
RunsDirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--runs-dir",
        envvar="NNCTL_RUNS_DIR",
        help="Directory that holds the run directories [default: ./runs].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
ThreadsOption = Annotated[
    Optional[int],
    typer.Option(
        "--threads",
        min=1,
        metavar="N",
        help="Use at most N BLAS threads (use 1 when running several trainings at once) "
        "[default: as OMP_NUM_THREADS / OPENBLAS_NUM_THREADS say, else one per core].",
        show_default=False,
    ),
]


@contextlib.contextmanager
def limit_threads(n: Optional[int]) -> Iterator[None]:
    """Limits the BLAS/OpenMP thread pools to ``n`` threads inside the block (threadpoolctl);
    ``None`` leaves them as the environment configured them."""
    if n is None:
        yield
        return
    import numpy  # noqa: F401  - BLAS must be loaded for threadpoolctl to find and limit it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n):
        yield


def animate(console: "Console") -> bool:
    """Live displays (progress bars) only on a real terminal, and not with NO_COLOR set."""
    return console.is_terminal and not console.is_dumb_terminal and not os.environ.get("NO_COLOR")


class _TrainDisplay:
    """Draws training progress on stderr: a live bar on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = err_console()
        self.progress = None
        self.task = None
        self.print_every = 100
        self.total = 0
        self.first = True

    def start(self, run_id: str, run_dir: Path, cfg: Any, ds: Any) -> None:
        from nnctl.train import total_iterations

        self.print_every, self.total = cfg.print_every, total_iterations(cfg, ds.X_train.shape[1])
        if self.quiet:
            return
        n_test = "no test set" if ds.X_test is None else f"{ds.X_test.shape[1]} test"
        self.console.print(
            f"run {run_id}: {cfg.name}, layers {cfg.layer_dims}, "
            f"{ds.X_train.shape[1]} train / {n_test} examples, {cfg.dtype}"
        )
        if animate(self.console):
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("iteration"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("cost {task.fields[cost]}"),
                TextColumn("{task.fields[speed]} it/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.task = self.progress.add_task("train", total=self.total, cost="-", speed="-")
            self.progress.start()

    def iteration(self, i: int, cost: float) -> None:
        if self.quiet:
            return
        last = i == self.total - 1
        first, self.first = self.first, False  # a resumed run shows where it picked up
        if i % self.print_every == 0 or last or first:
            line = f"Cost after iteration {i}: {cost:.6f}"
            (self.progress.console if self.progress else self.console).print(line)
        if self.progress is not None and (i % 10 == 0 or last):
            task = self.progress.tasks[0]
            speed = f"{task.speed:,.0f}" if task.speed else "-"
            self.progress.update(self.task, completed=i + 1, cost=f"{cost:.6f}", speed=speed)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def summary(self, outcome: Any) -> None:
        if self.quiet:
            return
        from rich.table import Table

        s = outcome.summary
        table = Table(title=f"run {outcome.run_id}", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        rows = [
            ("status", s["status"]),
            ("final cost", fmt(s.get("final_cost"))),
            *([] if "train_mse" in s else [
                ("train accuracy", fmt(s.get("train_accuracy"))),
                ("test accuracy", fmt(s.get("test_accuracy"))),
            ]),
            *_extra_rows(s),
            ("iterations", f"{s.get('iterations_done')} of {s['iterations']}"),
            ("time", f"{s.get('seconds', 0):.2f} s"),
            *([("note", s["message"])] if s["status"] == "complete" and s.get("message") else []),
            ("run directory", str(outcome.run_dir)),
        ]
        if not self.console.is_terminal:
            for k, v in rows:
                self.console.print(f"{k}: {v}")
            return
        for k, v in rows:
            table.add_row(k, v)
        self.console.print(table)


# Summary lines beyond accuracy, shown when the run has them (regression, validation).
_EXTRA_ROWS = (
    ("train_mse", "train MSE"), ("train_r2", "train R²"), ("test_mse", "test MSE"),
    ("test_r2", "test R²"), ("val_loss", "validation loss"), ("val_accuracy", "validation accuracy"),
    ("val_r2", "validation R²"), ("best_epoch", "best epoch"),
)


def _extra_rows(s: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label in _EXTRA_ROWS:
        if s.get(key) is not None:
            rows.append((label, str(s[key]) if isinstance(s[key], int) else fmt(s[key])))
    return rows


@app.command()
@handle_errors
def train(
    config: Annotated[
        Optional[Path], typer.Argument(help="YAML config file (omit with --resume).", show_default=False)
    ] = None,
    set_: SetOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (stdout still gets the run id).")] = False,
    threads: ThreadsOption = None,
    resume: Annotated[
        Optional[str],
        typer.Option("--resume", metavar="RUN", help="Continue an interrupted run (path, id, prefix or 'latest') "
                     "from its last checkpoint, with its own config."),
    ] = None,
) -> None:
    """Train a network from a config; print the run id (or --json) on stdout."""
    from nnctl.config import load_config
    from nnctl.runs import default_runs_dir, find_run
    from nnctl.train import resume_run, train_run

    display = _TrainDisplay(quiet)
    if resume is not None:
        if config is not None or set_:
            raise fail("--resume continues a run with its own saved config; give no CONFIG and no --set")
        run_dir = find_run(resume, runs_dir or default_runs_dir())
        start = functools.partial(resume_run, run_dir)
    elif config is None:
        raise fail("missing CONFIG: give a YAML config file, or --resume RUN")
    else:
        cfg = load_config(config, set_ or [])
        start = functools.partial(train_run, cfg, runs_dir or default_runs_dir())
    try:
        with limit_threads(threads):
            outcome = start(on_start=display.start, on_iteration=display.iteration)
    finally:
        display.stop()
    display.summary(outcome)
    s = outcome.summary
    if json_:
        print_json({
            "run_id": outcome.run_id,
            "run_dir": str(outcome.run_dir),
            "name": s["name"],
            "status": s["status"],
            "final_cost": s.get("final_cost"),
            "train_accuracy": s.get("train_accuracy"),
            "test_accuracy": s.get("test_accuracy"),
            "iterations": s.get("iterations_done"),
            "seconds": s.get("seconds"),
            **{k: s[k] for k, _ in _EXTRA_ROWS if s.get(k) is not None},
        })
    else:
        print(outcome.run_id, flush=True)
    if outcome.status == "diverged":
        raise fail(f"training diverged: {s['message']}", EXIT_FAILED)
    if outcome.status == "interrupted":
        err_console().print(f"{s['message']}; run marked interrupted")
        if (outcome.run_dir / "checkpoint.npz").is_file():
            err_console().print(f"continue from its last checkpoint with: nnctl train --resume {outcome.run_id}")
        raise typer.Exit(EXIT_INTERRUPTED)


# --------------------------------------------------------------------------- gradcheck


def _gradcheck_table(report: Any) -> Any:
    """Per parameter array for one network; per group of networks for the suite."""
    from rich import box
    from rich.table import Table

    from nnctl.gradcheck import overall_error

    def err(x: Optional[float]) -> str:
        return "-" if x is None else f"{x:.1e}"

    def verdict(ok: bool) -> str:
        return "[green]pass[/]" if ok else "[bold red]FAIL[/]"

    table = Table(title=f"gradcheck: {report.target}", title_justify="left", caption_justify="left",
                  box=box.SIMPLE, show_edge=False, pad_edge=False, collapse_padding=True)
    if len(report.networks) == 1:
        table.caption = "each array: its coordinates (all, or a random sample) and 1 random direction"
        for col in ("parameter", "shape", "checked", "skipped", "coord error", "dir error", "result"):
            table.add_column(col, justify="left" if col in ("parameter", "shape", "result") else "right",
                             no_wrap=col != "result")
        for c in report.checks:
            size = math.prod(c.shape)
            checked = f"{c.coords:,}" + ("" if c.coords == size else f" of {size:,}")
            table.add_row(c.parameter, "x".join(map(str, c.shape)), checked, str(c.skipped),
                          err(c.coord_error), err(c.direction_error), verdict(c.passed))
        table.add_section()
        table.add_row("all", "", f"{sum(c.coords for c in report.checks):,}", str(sum(c.skipped for c in report.checks)),
                      err(overall_error(report.checks)), "", verdict(report.passed))
        return table
    table.caption = "depths 1-4, weight scales 0.5/1/2; 'mixed': 3 different hidden activations in a row"
    for col in ("hidden", "output/loss", "nets", "coords", "max err", "overall", "result"):
        table.add_column(col, justify="left" if col in ("hidden", "output/loss", "result") else "right",
                         no_wrap=col != "result")
    groups: dict[tuple[str, str], list] = {}
    for c in report.checks:
        groups.setdefault(c.group, []).append(c)
    for group, checks in groups.items():
        result = verdict(all(c.passed for c in checks))
        table.add_row(*group, str(len({c.network for c in checks})),
                      f"{sum(c.coords for c in checks):,}", err(max(c.max_error for c in checks)),
                      err(overall_error(checks)), result)
    return table


def _gradcheck_verdict(report: Any) -> str:
    n_arrays, n_nets = len(report.checks), len(report.networks)
    scope = f"{n_arrays} parameter arrays in {n_nets} network{'s' if n_nets != 1 else ''}"
    if report.passed:
        return (f"PASSED: {scope}, max relative error {report.max_relative_error:.1e} "
                f"< tolerance {report.tol:g} (eps {report.eps:g})")
    # Failing arrays, grouped by the network (or suite group) they belong to.
    by_group: dict[str, list] = {}
    for c in report.failures():
        key = c.network if n_nets == 1 else f"{c.group[0]} hidden -> {c.group[1]}"
        by_group.setdefault(key, []).append(c)
    parts = []
    for key, checks in by_group.items():
        names = sorted({c.parameter for c in checks}, key=lambda p: (int(p[1:]), p[0]))
        parts.append(f"{', '.join(names)} of {key} (max error {max(c.max_error for c in checks):.1e})")
    parts += [f"the cost of {c['network']} differs from the forward pass's (error {c['relative_error']:.1e})"
              for c in report.cost_checks if not c["passed"]]
    n_failed = len(report.failures())
    shown = "; ".join(parts)
    return (f"FAILED (tolerance {report.tol:g}, eps {report.eps:g}): {shown}; "
            f"{n_failed} of {scope} failed")
# --------------------------------------------------------------------------- config

config_app = typer.Typer(
    help="Show the resolved config, or check config files.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(config_app, name="config")

NoDataOption = Annotated[
    bool,
    typer.Option(
        "--no-data",
        help="Do not load the dataset: skip the data checks and leave layer_dims[0] as written (e.g. auto).",
    ),
]


@config_app.command("show")
@handle_errors
def config_show(
    config: Annotated[Path, typer.Argument(help="YAML config file.", show_default=False)],
    set_: SetOption = None,
    no_data: NoDataOption = False,
) -> None:
    """Print the fully resolved config as YAML: exactly what train would save in config.yaml."""
    from nnctl.config import dump_config, load_config

    cfg = load_config(config, set_ or [])
    if not no_data:
        from nnctl.train import bind_dataset

        cfg, _ = bind_dataset(cfg)
    sys.stdout.write(dump_config(cfg))


@config_app.command("check")
@handle_errors
def config_check(
    configs: Annotated[list[Path], typer.Argument(help="YAML config files.", show_default=False)],
    set_: SetOption = None,
    no_data: NoDataOption = False,
) -> None:
    """Validate config files (and their data): "ok FILE" on stdout or one error line on stderr
    per file; exit 0 if all are valid, else 2."""
    from nnctl.config import load_config
    from nnctl.errors import NnctlError

    bad = 0
    for path in configs:
        try:
            cfg = load_config(path, set_ or [])
            if not no_data:
                from nnctl.train import bind_dataset

                bind_dataset(cfg)
        except NnctlError as exc:
            bad += 1
            # Data errors name the data file; say which config led there.
            message = str(exc)
            print_error(message if message.startswith(str(path)) else f"{path}: {message}")
            continue
        print(f"ok {path}", flush=True)
    if bad:
        raise typer.Exit(EXIT_USAGE)


# --------------------------------------------------------------------------- runs

runs_app = typer.Typer(
    help="List, show, compare and remove runs.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(runs_app, name="runs")

RunsArg = Annotated[
    list[str],
    typer.Argument(help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.", show_default=False),
]
RunArg = Annotated[
    str,
    typer.Argument(help="A run directory, a run id, a unique id prefix, or 'latest'.", show_default=False),
]


def _find_runs(specs: list[str], runs_dir: Optional[Path]) -> list[Path]:
    from nnctl.runs import default_runs_dir, find_run

    return [find_run(spec, runs_dir or default_runs_dir()) for spec in specs]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _local_time(iso: Optional[str]) -> str:
    """summary.json stores UTC; tables show the reader's local time."""
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
            r["id"], _cell(r["name"]), _cell(r["status"]), created, _cell(r["learning_rate"]), its,
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
    from nnctl.runtable import read_history, read_run
    from nnctl.textplot import curve_lines

    (run_dir,) = _find_runs([run], runs_dir)
    info = read_run(run_dir)
    its, costs = read_history(run_dir)
    config_text = (run_dir / "config.yaml").read_text() if (run_dir / "config.yaml").is_file() else ""
    if json_:
        from nnctl.config import parse_yaml  # a damaged config.yaml is one error line

        print_json({
            "run_dir": str(run_dir),
            "config": parse_yaml(config_text, str(run_dir / "config.yaml")) if config_text else None,
            "summary": info.summary,
            "history": {"iteration": its, "cost": costs},
        })
        return
    console = _table_console()
    console.print(f"run {info.row['id']}  ({run_dir})")
    console.print("\nconfig.yaml")
    console.print(config_text.rstrip() or "(missing)", markup=False)
    console.print("\nsummary.json")
    shown = {k: v for k, v in info.summary.items()
             if k not in ("layer_dims", "activations", "loss", "dtype", "run_id", "name")}
    width = max(map(len, shown), default=0)  # the rest is already in config.yaml or the header
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
        table.add_column(f"{rid}\n{name}", no_wrap=True, justify="right")
    for k, values in cmp.metrics:
        table.add_row(k, *(_cell(v) for v in values))
    table.add_row()
    differing = [(k, v) for k, v in cmp.differing if k != "name"]  # names head the columns
    for k, values in differing:
        table.add_row(k, *(_cell(v) for v in values))
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
            console.print(f"  {d}  ({s.get('name')}, {s.get('status')})", markup=False)
        # Not typer.confirm: it writes a stray space to stdout, which belongs to results.
        console.print(f"Delete {len(dirs)} run(s)? [y/N] ", end="", markup=False)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            console.print("nothing deleted")
            raise typer.Exit(EXIT_FAILED)
    for d in dirs:
        remove_run(d)
        print(d.name, flush=True)


# --------------------------------------------------------------------------- gradcheck


@app.command()
@handle_errors
def gradcheck(
    config_or_run: Annotated[
        Optional[str],
        typer.Argument(
            metavar="CONFIG_OR_RUN",
            help="A YAML config, or a run (id, unique prefix, latest or directory). "
                 "Omit it to check the built-in suite of small networks.",
            show_default=False,
        ),
    ] = None,
    examples: Annotated[
        Optional[int],
        typer.Option("--examples", help="Training examples used from the dataset [default: 8].", show_default=False),
    ] = None,
    max_coords: Annotated[int, typer.Option("--max-coords", help="Coordinates sampled per parameter array.")] = 50,
    eps: Annotated[float, typer.Option("--eps", help="Central-difference step.")] = 1e-5,
    tol: Annotated[float, typer.Option("--tol", help="Largest relative error that passes.")] = 1e-7,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampled coordinates, directions and suite data.")] = 0,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
) -> None:
    """Check the backward pass against central differences of the cost, in float64."""
    from nnctl.gradcheck import check_suite, check_target

    if config_or_run is None:
        report = check_suite(eps=eps, tol=tol, max_coords=max_coords, seed=seed)
        if examples is not None:
            report.notices.insert(0, "--examples applies to a config or run; the suite uses its own random examples")
    else:
        report = check_target(config_or_run, examples=8 if examples is None else examples, eps=eps, tol=tol,
                              max_coords=max_coords, seed=seed, runs_dir=runs_dir)
    for notice in report.notices:
        err_console().print(f"note: {notice}")
    if json_:
        print_json(report.to_json())
    else:
        out = out_console()
        out.print(_gradcheck_table(report))
        out.print(_gradcheck_verdict(report), markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


# --------------------------------------------------------------------------- plot


@app.command()
@handle_errors
def plot(
    runs: RunsArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file to write (.png, .pdf or .svg).", show_default=False)],
    log: Annotated[bool, typer.Option("--log", help="Logarithmic cost axis.")] = False,
    title: Annotated[Optional[str], typer.Option("--title", help="Figure title [default: learning curves].", show_default=False)] = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Learning curves (cost vs iteration) of several runs on one figure, labelled by run name
    and the config keys that differ between them (needs: pip install 'nnctl[plot]')."""
    from nnctl.plot import plot_curves
    from nnctl.runtable import read_history, read_run, run_labels

    dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    infos = [read_run(d) for d in dirs]
    curves = [(label, *read_history(d)) for label, d in zip(run_labels(infos), dirs)]
    plot_curves(curves, output, log_scale=log, title=title)
    print(output, flush=True)


# --------------------------------------------------------------------------- predict, evaluate

def _threshold(value: Optional[float]) -> Optional[float]:
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


ThresholdOption = Annotated[
    Optional[float],
    typer.Option(
        "--threshold",
        callback=_threshold,
        help="Binary classifiers: predict the positive class when its probability is above this [default: 0.5].",
        show_default=False,
    ),
]


def _load(run: str, runs_dir: Optional[Path]) -> Any:
    from nnctl.runs import default_runs_dir, find_run, load_run

    return load_run(find_run(run, runs_dir or default_runs_dir()))


@app.command()
@handle_errors
def predict(
    run: RunArg,
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Image files and/or directories of images (feature runs: .csv or .npy files, one example per row).",
            show_default=False,
        ),
    ],
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list of predictions on stdout.")] = False,
    threshold: ThresholdOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Predict classes of new inputs with a trained run. Exit 1 if any input failed."""
    from nnctl.predict import predict_inputs

    loaded = _load(run, runs_dir)
    outcome = predict_inputs(loaded, inputs, threshold)
    for message in outcome.failures:
        fail(message)  # prints the line; the exit status comes after all inputs
    if json_:
        print_json(outcome.results)
    elif outcome.results:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"run {loaded.run_id}", title_justify="left")
        table.add_column("input")
        regression = outcome.results[0]["class"] is None
        if regression:
            table.add_column("value", justify="right")
        else:
            table.add_column("class")
            table.add_column("probability", justify="right")
        for r in outcome.results:
            if regression:
                values = r["value"] if isinstance(r["value"], list) else [r["value"]]
                table.add_row(escape(r["input"]), "  ".join(f"{v:.6g}" for v in values))
            else:
                table.add_row(escape(r["input"]), escape(r["class"]), fmt(r["probability"]))
        out_console().print(table)
    if outcome.failures:
        err_console().print(
            f"{len(outcome.failures)} input(s) failed, {len(outcome.results)} prediction(s) made"
        )
        raise typer.Exit(EXIT_FAILED)


@app.command()
@handle_errors
def evaluate(
    run: RunArg,
    data: Annotated[
        Optional[str],
        typer.Option("--data", metavar="FILE", help="Evaluate on this HDF5 file (same format as train's) instead of the run's own data."),
    ] = None,
    split: Annotated[
        Optional[str],
        typer.Option("--split", metavar="train|val|test", help="Which split of the run's own dataset [default: test, else train]."),
    ] = None,
    json_: JsonOption = False,
    errors: Annotated[
        Optional[Path],
        typer.Option("--errors", metavar="DIR", help="Image classifiers: write each misclassified image into DIR as a PNG."),
    ] = None,
    threshold: ThresholdOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Score a trained run on a labelled dataset: accuracy, precision, recall, F1 (per class too),
    log loss, confusion matrix; MSE, MAE, R² for regression runs."""
    from nnctl.evaluate import RegressionEvaluation, check_errors_dir, evaluate_run, write_errors

    if split is not None and split not in ("train", "val", "test"):
        raise fail(f"--split: got {split!r}; valid: train, val, test")
    loaded = _load(run, runs_dir)
    if errors is not None:
        check_errors_dir(loaded, errors)
    ev = evaluate_run(loaded, data, split, threshold)
    for note in ev.notes:
        from rich.markup import escape

        err_console().print(f"[yellow]warning:[/] {escape(note)}", markup=True)
    if json_:
        print_json({"run_id": loaded.run_id, **ev.to_dict()})
    elif isinstance(ev, RegressionEvaluation):
        _print_regression(loaded.run_id, ev)
    else:
        from rich.markup import escape
        from rich.table import Table

        console = out_console()
        scores = Table(title=f"run {loaded.run_id} on {escape(ev.data)}", show_header=False, title_justify="left")
        scores.add_column(style="bold")
        scores.add_column(justify="right")
        positive = f" ({escape(ev.classes[1])})" if len(ev.classes) == 2 else " (macro average)"
        for name, value in [
            ("examples", str(ev.n)),
            ("accuracy", fmt(ev.accuracy)),
            ("precision" + positive, fmt(ev.precision)),
            ("recall" + positive, fmt(ev.recall)),
            ("F1" + positive, fmt(ev.f1)),
            ("log loss", fmt(ev.log_loss)),
        ]:
            scores.add_row(name, value)
        console.print(scores)
        if len(ev.classes) > 2:
            per = Table(title="per class", title_justify="left")
            for h in ("class", "precision", "recall", "F1", "support"):
                per.add_column(h, justify="left" if h == "class" else "right")
            pc = ev.per_class
            for k, c in enumerate(ev.classes):
                per.add_row(escape(c), fmt(pc["precision"][k], 4), fmt(pc["recall"][k], 4),
                            fmt(pc["f1"][k], 4), str(pc["support"][k]))
            console.print(per)
        cm = Table(title="confusion matrix (rows: true class, columns: predicted)", title_justify="left")
        cm.add_column("true \\ predicted", style="bold")
        for c in ev.classes:
            cm.add_column(escape(c), justify="right")
        for c, row in zip(ev.classes, ev.confusion.tolist()):
            cm.add_row(escape(c), *map(str, row))
        console.print(cm)
    if errors is not None:
        written = write_errors(ev, errors)
        err_console().print(f"wrote {len(written)} misclassified image(s) to {errors}")


def _print_regression(run_id: str, ev: Any) -> None:
    """evaluate's tables for a regression run: overall scores, then one row per output."""
    from rich.markup import escape
    from rich.table import Table

    console = out_console()
    scores = Table(title=f"run {run_id} on {escape(ev.data)}", show_header=False, title_justify="left")
    scores.add_column(style="bold")
    scores.add_column(justify="right")
    every = " (all outputs)" if ev.n_outputs > 1 else ""
    for name, value in [("examples", str(ev.n)), ("MSE" + every, fmt(ev.mse)),
                        ("MAE" + every, fmt(ev.mae)), ("R²" + (" (mean over outputs)" if every else ""), fmt(ev.r2))]:
        scores.add_row(name, value)
    console.print(scores)
    if ev.per_output:
        per = Table(title="per output", title_justify="left")
        for h in ("output", "MSE", "MAE", "R²"):
            per.add_column(h, justify="right")
        for k, s in enumerate(ev.per_output):
            per.add_row(str(k), fmt(s["mse"]), fmt(s["mae"]), fmt(s["r2"]))
        console.print(per)



def main() -> None:
    app()
