"""The command line: parses arguments, calls the library, prints. The only module that imports
typer. Human-readable output goes to stderr; stdout carries only results (a run id, a table,
or JSON with --json), so commands compose in shell scripts.

Heavy modules (numpy, h5py, Pillow) are imported inside the commands that need them, so
``nnctl --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import math
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
    from rich.markup import escape

    err_console().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
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
        if not self.console.is_terminal:
            for k, v in rows:
                self.console.print(f"{k}: {v}")
            return
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


def main() -> None:
    app()
