"""Training progress on stderr for ``nnctl train``: a live bar on a terminal, plain lines
otherwise (a ``nnctl.api.TrainDisplay``, given to ``nnctl.train`` / ``Run.resume`` as their
``progress``), and the summary table at the end."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nnctl.cli.common import err_console, fmt, print_notice

if TYPE_CHECKING:
    from rich.console import Console


def animate(console: Console) -> bool:
    """Live displays (progress bars) only on a real terminal, and not with NO_COLOR set."""
    return console.is_terminal and not console.is_dumb_terminal and not os.environ.get("NO_COLOR")


class _TrainDisplay:
    """Draws training progress on stderr: a live bar on a terminal, plain lines otherwise. The
    run's warnings come as the API's ``NnctlWarning`` (``common.library_warnings``), just
    before ``start``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = err_console()
        self.progress = None
        self.task = None
        self.print_every = 100
        self.total = 0
        self.first = True
        self.decoding_bar: Any = None

    def decoding(self, done: int, total: int) -> None:
        """While the image files are decoded: a bar on a terminal, else a line a quarter."""
        if self.quiet:
            return
        if self.decoding_bar is None:
            from nnctl.cli.data import decoding_progress

            self.decoding_bar = decoding_progress()
        self.decoding_bar(done, total)

    def start(self, run: Any) -> None:
        """``run``: the ``RunStart`` of ``nnctl.api.TrainDisplay``."""
        self.print_every, self.total = run.print_every, run.total_iterations
        if self.quiet:
            return
        for note in run.notes:
            print_notice(note)
        n_test = "no test set" if run.n_test is None else f"{run.n_test} test"
        self.console.print(
            f"run {run.run_id}: {run.name}, layers {run.layer_dims}, "
            f"{run.n_train} train / {n_test} examples, {run.dtype}",
            markup=False,  # a run name like x[/] is text, not markup
        )
        if animate(self.console):
            self.progress = make_progress(self.console, self.total)
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

    def summary(self, s: Any, run_dir: Any) -> None:
        """The table at the end: ``s``, the run's ``RunSummary``, and its directory."""
        if self.quiet:
            return
        # No title: the header line already named the run, and stdout carries its id.
        from rich.markup import escape
        from rich.table import Table

        table = Table(show_header=False)
        table.add_column(style="bold")
        table.add_column()
        rows = [
            ("status", s.status),
            ("final cost", fmt(s.final_cost)),
            *(
                []
                if s.task == "regression"
                else [
                    ("train accuracy", fmt(s.metric("train_accuracy"))),
                    ("test accuracy", fmt(s.metric("test_accuracy"))),
                ]
            ),
            *[(label, str(v) if isinstance(v, int) else fmt(v)) for _, label, v in extra_values(s)],
            ("iterations", f"{s.iterations_done} of {s.iterations}"),
            ("time", f"{s.seconds or 0:.2f} s"),
            *([("note", s.message)] if s.status == "complete" and s.message else []),
            ("run directory", str(run_dir)),
        ]
        if not self.console.is_terminal:
            for k, v in rows:
                self.console.print(f"{k}: {v}", markup=False)
            return
        for k, v in rows:
            table.add_row(k, escape(v))
        self.console.print(table)


def progress_layout(width: int, total: int) -> list[str]:
    """Which parts of the progress line fit in ``width`` columns, in display order: the bar
    goes first, then the elapsed time, then the speed, then the word "iteration" shrinks to
    "it" and then goes, so that the count, cost and ETA stay readable down to 40 columns
    (even for 200,000 iterations)."""
    count = 2 * len(str(total)) + 1  # "  214/3000": the count is padded to the total's width
    sizes = {
        "iteration": 10 + count,
        "it": 3 + count,
        "count": count,
        "bar": 10,
        "cost": 13,
        "speed": 12,
        "elapsed": 7,
        "eta": 11,
    }
    candidates = [
        ["iteration", "bar", "cost", "speed", "elapsed", "eta"],
        ["iteration", "cost", "speed", "elapsed", "eta"],
        ["iteration", "cost", "speed", "eta"],
        ["iteration", "cost", "eta"],
        ["it", "cost", "eta"],
    ]
    for parts in candidates:
        if sum(sizes[p] + 1 for p in parts) - 1 <= width:
            return parts
    return ["count", "cost", "eta"]


def make_progress(console: Console, total: int) -> Any:
    """The live progress line for ``total`` iterations, laid out for the console's width
    (``progress_layout``); tasks carry ``cost`` and ``speed`` fields."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = []
    for part in progress_layout(console.width, total):
        if part in ("iteration", "it"):
            columns += [TextColumn(part), MofNCompleteColumn()]
        elif part == "count":
            columns.append(MofNCompleteColumn())
        elif part == "bar":
            columns.append(BarColumn(bar_width=10))
        elif part == "cost":
            columns.append(TextColumn("cost {task.fields[cost]}"))
        elif part == "speed":
            columns.append(TextColumn("{task.fields[speed]} it/s"))
        elif part == "elapsed":
            columns.append(TimeElapsedColumn())
        else:
            columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=True)


# The labels of the scores beyond accuracy (nnctl.api.run.EXTRA_SCORES) and best_epoch.
_LABELS = {
    "train_mse": "train MSE",
    "train_r2": "train R²",
    "test_mse": "test MSE",
    "test_r2": "test R²",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "val_r2": "validation R²",
    "best_epoch": "best epoch",
}


def extra_values(s: Any) -> list[tuple[str, str, Any]]:
    """(summary key, label, value) of the extra scores and the early-stopping epoch the run
    has (``s``: a ``runs.RunSummary``), in display order: those of ``Run.record()``."""
    from nnctl.api.run import extra_scores

    return [(key, _LABELS[key], value) for key, value in extra_scores(s)]
