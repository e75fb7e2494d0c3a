"""``nnctl.train(..., progress=True)``: rich's progress bar, which draws in a terminal and, as a
live output, in a Jupyter cell. The only module of ``nnctl.api`` that imports rich (inside the
function, so ``import nnctl`` does not pay for it); the layers contract allows it by name."""

from __future__ import annotations

from typing import Any


class _Bar:
    def __init__(self, progress: Any, task: Any, total: int) -> None:
        self.progress, self.task, self.total = progress, task, total

    def update(self, i: int, cost: float) -> None:
        # every 10 steps (and the last), as nnctl train's bar: drawing each step would cost more
        # than a small network's step
        if i % 10 == 0 or i == self.total - 1:
            self.progress.update(self.task, completed=i + 1, cost=f"{cost:.6f}")

    def stop(self) -> None:
        self.progress.stop()


def progress_bar(run: Any) -> _Bar:
    """A started bar for ``run`` (a ``RunStart``): its steps done of all, the last cost, the
    time left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn(f"run {run.run_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("cost {task.fields[cost]}"),
        TimeRemainingColumn(),
    )
    task = progress.add_task("train", total=run.total_iterations, cost="-")
    progress.start()
    return _Bar(progress, task, run.total_iterations)
