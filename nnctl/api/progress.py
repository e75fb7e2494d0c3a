"""``nnctl.train(..., progress=True)``: rich's progress bar, which draws in a terminal and, as a
live output, in a Jupyter cell. The only module of ``nnctl.api`` that imports rich (inside its
methods, so ``import nnctl`` does not pay for it); the layers contract allows it by name."""

from __future__ import annotations

from typing import Any


class RichBar:
    """A ``TrainDisplay``: the run's steps done of all, the last cost, the time left."""

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None
        self.total = 0

    def start(self, run: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.total = run.total_iterations
        self.progress = Progress(
            TextColumn(f"run {run.run_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cost {task.fields[cost]}"),
            TimeRemainingColumn(),
        )
        self.task = self.progress.add_task("train", total=self.total, cost="-")
        self.progress.start()

    def iteration(self, i: int, cost: float) -> None:
        # every 10 steps (and the last), as nnctl train's bar: drawing each step would cost more
        # than a small network's step
        if self.progress is not None and (i % 10 == 0 or i == self.total - 1):
            self.progress.update(self.task, completed=i + 1, cost=f"{cost:.6f}")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
