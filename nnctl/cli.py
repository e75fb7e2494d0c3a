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
    from rich.markup import escape  # a path like "[b]ad.png" must not turn into markup

    err_console().print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
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

    def start(self, run_id: str, run_dir: Path, cfg: Any, ds: Any) -> None:
        self.print_every, self.total = cfg.print_every, cfg.iterations
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
            self.task = self.progress.add_task("train", total=cfg.iterations, cost="-", speed="-")
            self.progress.start()

    def iteration(self, i: int, cost: float) -> None:
        if self.quiet:
            return
        last = i == self.total - 1
        if i % self.print_every == 0 or last:
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
            ("train accuracy", fmt(s.get("train_accuracy"))),
            ("test accuracy", fmt(s.get("test_accuracy"))),
            ("iterations", f"{s.get('iterations_done')} of {s['iterations']}"),
            ("time", f"{s.get('seconds', 0):.2f} s"),
            ("run directory", str(outcome.run_dir)),
        ]
        for k, v in rows:
            table.add_row(k, v)
        self.console.print(table)


@app.command()
@handle_errors
def train(
    config: Annotated[Path, typer.Argument(help="YAML config file.", show_default=False)],
    set_: SetOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (stdout still gets the run id).")] = False,
) -> None:
    """Train a network from a config; print the run id (or --json) on stdout."""
    from nnctl.config import load_config
    from nnctl.runs import default_runs_dir
    from nnctl.train import train_run

    cfg = load_config(config, set_ or [])
    display = _TrainDisplay(quiet)
    try:
        outcome = train_run(
            cfg, runs_dir or default_runs_dir(), on_start=display.start, on_iteration=display.iteration
        )
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
        })
    else:
        print(outcome.run_id, flush=True)
    if outcome.status == "diverged":
        raise fail(f"training diverged: {s['message']}", EXIT_FAILED)
    if outcome.status == "interrupted":
        err_console().print(f"{s['message']}; run marked interrupted")
        raise typer.Exit(EXIT_INTERRUPTED)


# --------------------------------------------------------------------------- predict, evaluate

RunArgument = Annotated[
    str,
    typer.Argument(
        help="Run: a full run id, a unique prefix of one, 'latest', or a path to a run directory.",
        show_default=False,
    ),
]


def _threshold(value: float) -> float:
    if not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold",
        callback=_threshold,
        help="Binary classifiers: predict the positive class when its probability is above this.",
    ),
]


def _load(run: str, runs_dir: Optional[Path]) -> Any:
    from nnctl.runs import default_runs_dir, find_run, load_run

    return load_run(find_run(run, runs_dir or default_runs_dir()))


@app.command()
@handle_errors
def predict(
    run: RunArgument,
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Image files and/or directories of images (feature runs: .csv or .npy files, one example per row).",
            show_default=False,
        ),
    ],
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list of predictions on stdout.")] = False,
    threshold: ThresholdOption = 0.5,
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
        table.add_column("class")
        table.add_column("probability", justify="right")
        for r in outcome.results:
            if r["class"] is None:
                table.add_row(escape(r["input"]), "-", str(r.get("value")))
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
    run: RunArgument,
    data: Annotated[
        Optional[str],
        typer.Option("--data", metavar="FILE", help="Evaluate on this HDF5 file (same format as train's) instead of the run's own data."),
    ] = None,
    split: Annotated[
        Optional[str],
        typer.Option("--split", metavar="train|test", help="Which split of the run's own dataset [default: test, else train]."),
    ] = None,
    json_: JsonOption = False,
    errors: Annotated[
        Optional[Path],
        typer.Option("--errors", metavar="DIR", help="Write each misclassified image into DIR as a PNG."),
    ] = None,
    threshold: ThresholdOption = 0.5,
    runs_dir: RunsDirOption = None,
) -> None:
    """Score a trained run on a labelled dataset: accuracy, precision, recall, F1, log loss,
    confusion matrix."""
    from nnctl.evaluate import check_errors_dir, evaluate_run, write_errors

    if split is not None and split not in ("train", "test"):
        raise fail(f"--split: got {split!r}; valid: train, test")
    loaded = _load(run, runs_dir)
    if errors is not None:
        check_errors_dir(loaded, errors)
    ev = evaluate_run(loaded, data, split, threshold)
    for note in ev.notes:
        from rich.markup import escape

        err_console().print(f"[yellow]warning:[/] {escape(note)}", markup=True)
    if json_:
        print_json({"run_id": loaded.run_id, **ev.to_dict()})
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


def main() -> None:
    app()
