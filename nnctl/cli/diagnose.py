"""``nnctl diagnose``: the course's recipe (bias, variance, dev/test mismatch) for one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    JsonOption,
    RunArg,
    RunsDirOption,
    _load,
    dask_options,
    handle_errors,
    out_console,
    print_json,
    print_notice,
)
from nnctl.system import UsageError

_SPLIT_NAMES = {"baseline": "baseline", "train": "train", "val": "dev (val)", "test": "test"}


WorkersOption, SchedulerOption = dask_options("the learning curve's shares")


@handle_errors
def diagnose(
    run: RunArg,
    baseline: Annotated[
        float | None,
        typer.Option(
            "--baseline",
            metavar="ERROR",
            help="The error the run could reach: a human-level estimate or a simple model's "
            "error (classifiers: 1 - accuracy, in [0, 1]; regression: an MSE) "
            "[default: the config's diagnose.baseline, else 0].",
            show_default=False,
        ),
    ] = None,
    learning_curve: Annotated[
        bool,
        typer.Option(
            "--learning-curve",
            help="Train the run's config again on growing shares of its training split "
            "(nested, seeded, stratified for classifiers; each a run linked to this one), score "
            "each on this run's validation split and read the curve.",
        ),
    ] = False,
    sizes: Annotated[
        str | None,
        typer.Option(
            "--sizes",
            metavar="SHARES",
            help="With --learning-curve: the shares of the training split, increasing, each in "
            "(0, 1] [default: 0.1,0.25,0.5,1.0].",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="With --learning-curve: write the curve as a PNG (the 'plot' extra).",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Read a run's training, dev (validation) and test errors against a baseline, as the
    course's recipe does: avoidable bias (train - baseline), variance (dev - train) and dev/test
    mismatch (test - dev), each with a verdict and next steps as --set overrides to paste.
    With --learning-curve: the errors against the number of training examples, and what
    they say (the gap closing, both errors high and flat, still falling at full size); the
    shares train one after another, or as Dask tasks with --workers or --scheduler."""
    from nnctl.commands.diagnose import diagnose_run

    if not learning_curve:
        for given, value in (
            ("--sizes", sizes),
            ("--plot", plot),
            ("--workers", workers),
            ("--scheduler", scheduler),
        ):
            if value is not None:
                raise UsageError(f"{given} goes with --learning-curve")
    trainer = None
    if learning_curve and (workers is not None or scheduler is not None):
        from nnctl.sweep.shares import on_dask

        # the extra and the options refused before the run is even looked up
        trainer = on_dask(workers, scheduler, on_notice=_notice_line)  # with --json too
    loaded = _load(run, runs_dir)
    if learning_curve:
        _learning_curve(loaded, sizes, plot, baseline, json_, runs_dir, trainer)
        return
    d = diagnose_run(loaded, baseline)
    if json_:
        print_json(d.to_dict())
        return
    for note in d.notes:
        print_notice(note)
    _print(d)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _print(d: Any) -> None:
    """The errors, the gaps with their verdicts, and the next steps of the gaps that are high."""
    from rich.box import SIMPLE_HEAD
    from rich.markup import escape
    from rich.table import Table

    console = out_console()
    e = d.errors
    errors = Table(
        title=f"run {d.run_id}: {e.metric} per split",
        title_justify="left",
        box=SIMPLE_HEAD,
        show_edge=False,
    )
    for h in ("", "error", "examples"):
        errors.add_column(h, justify="left" if not h else "right")
    source = {"default": "default", "--baseline": "--baseline"}.get(d.baseline_source, "config")
    errors.add_row("baseline", f"{d.baseline:.4f}", source)
    for split, value, n in (
        ("train", e.train, e.n_train),
        ("val", e.val, e.n_val),
        ("test", e.test, e.n_test),
    ):
        if value is not None:
            errors.add_row(_SPLIT_NAMES[split], f"{value:.4f}", "-" if n is None else str(n))
    console.print(errors)
    console.print()
    gaps = Table(title="the recipe", title_justify="left", box=SIMPLE_HEAD, show_edge=False)
    for h in ("gap", "", "value", "high above", "verdict"):
        gaps.add_column(h, justify="right" if h in ("value", "high above") else "left")
    for g in d.gaps:
        between = f"{_SPLIT_NAMES[g.upper]} - {_SPLIT_NAMES[g.lower]}"
        verdict = f"[bold red]{escape(g.verdict)}[/]" if g.high else escape(g.verdict)
        gaps.add_row(g.name, between, _signed(g.value), f"{g.threshold:.4g}", verdict)
    console.print(gaps)
    console.print()
    if d.focus is None:
        console.print("no gap is high: the run does as well as the baseline says it can")
        return
    console.print(f"work on [bold]{escape(d.focus)}[/] first (the largest gap)")
    for g in sorted(d.gaps, key=lambda g: g.name != d.focus):
        if not g.steps:
            continue
        console.print(f"\nnext steps for {escape(g.name)}:")
        for step in g.steps:
            console.print(f"  - {escape(step.text)}")
            command = step.command(d.config_file)
            if command:
                console.print(f"      {escape(command)}", soft_wrap=True)


def _learning_curve(
    loaded: Any,
    sizes: str | None,
    plot: Path | None,
    baseline: float | None,
    json_: bool,
    runs_dir: Path | None,
    trainer: Any = None,
) -> None:
    """Checks everything (sizes, plot file, the run's data) before the first run is made, then
    trains the shares one after another with a line per share on stderr and a bar of the
    share's steps, or by ``trainer`` (Dask) with a line per share as it finishes and a bar of
    the shares done."""
    from nnctl.commands.diagnose import SIZES, learning_curve, parse_sizes, plan_curve
    from nnctl.commands.diagnose.curve import check_plot, plot_curve
    from nnctl.runs import default_runs_dir

    shares = SIZES if sizes is None else parse_sizes(sizes)
    if plot is not None:
        check_plot(plot)
    plan = plan_curve(loaded, shares, baseline)

    def on_share(i: int, n: int, share: float, examples: int) -> None:
        print_notice(f"training {i + 1}/{n}: share {share:g} ({examples} examples)")

    bar = None if json_ else _SharesBar(len(plan.sizes))
    parallel = trainer is not None
    if trainer is None:
        from nnctl.commands.diagnose import one_after_another

        current = [0]

        def on_share_bar(i: int, n: int, share: float, examples: int) -> None:
            on_share(i, n, share, examples)
            current[0] = i

        def on_step(i: int, total: int) -> None:
            if bar is not None and (i % 10 == 0 or i == total - 1):
                bar.steps(current[0], i + 1, total)

        live = bar is not None and bar.progress is not None
        trainer = one_after_another(None, on_share_bar, on_step if live else None)

    def on_point(i: int, n: int, p: Any) -> None:
        if not parallel or json_:
            return
        print_notice(f"share {p.share:g} ({p.examples} examples): run {p.run_id} ({p.status})")
        if bar is not None:
            bar.advance()

    try:
        curve = learning_curve(
            plan, runs_dir or default_runs_dir(), trainer=trainer, on_point=on_point
        )
    finally:
        if bar is not None:
            bar.stop()
    if plot is not None:
        plot_curve(curve, plot)
    if json_:
        print_json({**curve.to_dict(), "plot": None if plot is None else str(plot)})
        return
    _print_curve(curve)
    if plot is not None:
        out_console().print(f"plot written to {plot}")


def _notice_line(line: str) -> None:
    print_notice(line)


class _SharesBar:
    """A live bar on a terminal: of the shares done (Dask: each arrives in one piece), or of
    the steps of the share training (one after another)."""

    def __init__(self, total: int) -> None:
        self.total = total
        from nnctl.cli.common import err_console
        from nnctl.cli.display import animate

        self.progress: Any = None
        err = err_console()
        if not animate(err):
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.task = self.progress.add_task("shares done", total=total)
        self.share: int | None = None
        self.progress.start()

    def steps(self, share: int, done: int, total: int) -> None:
        """Share ``share`` (0 ..) has made ``done`` of its ``total`` steps."""
        if self.progress is None:
            return
        if self.share != share:  # a new share: the bar starts again, with its ETA
            self.share = share
            self.progress.reset(
                self.task, total=total, description=f"share {share + 1}/{self.total}"
            )
        self.progress.update(self.task, completed=done)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _print_curve(curve: Any) -> None:
    """The table of shares and errors, and the reading."""
    from rich.box import SIMPLE_HEAD
    from rich.markup import escape
    from rich.table import Table

    console = out_console()
    table = Table(
        title=f"learning curve of run {curve.run_id}: {curve.metric}, "
        "scored on its validation split",
        title_justify="left",
        box=SIMPLE_HEAD,
        show_edge=False,
    )
    for h in ("share", "examples", "train error", "val error", "gap", "run"):
        table.add_column(h, justify="left" if h == "run" else "right")

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    for p in curve.points:
        table.add_row(
            f"{p.share:g}",
            str(p.examples),
            num(p.train_error),
            num(p.val_error),
            _signed(p.gap),
            p.run_id if p.status == "complete" else f"{p.run_id} ({p.status})",
        )
    console.print(table)
    console.print()
    r = curve.reading
    console.print(f"reading: [bold]{escape(r.verdict)}[/] - {escape(r.text)}")


EXAMPLES = """\
nnctl diagnose latest --baseline 0.04      a human-level error of 4%
nnctl diagnose latest --learning-curve --sizes 0.2,0.5,1 --plot curve.png
nnctl diagnose latest --learning-curve --workers 2     the shares on a local Dask cluster
"""
