"""The command line: parses arguments, calls the library, prints. The only module that imports
typer. Human-readable output goes to stderr; stdout carries only results (a run id, a table,
or JSON with --json), so commands compose in shell scripts.

Heavy modules (numpy, h5py, Pillow) are imported inside the commands that need them, so
``nnctl --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional

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

    return Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Prints one error line to stderr and returns the Exit to raise."""
    err_console().print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


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
        if self.console.is_terminal:
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


def main() -> None:
    app()
