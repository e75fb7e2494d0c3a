"""One training (a new run or a resumed one) as ``nnctl train`` runs it: SIGINT and SIGTERM
stop it at a step boundary with a checkpoint (``nnctl.system.interrupt``), progress goes to a
callback (and, with ``progress=True``, to rich's bar), warnings to Python's ``warnings``; the
outcome becomes a run, or ``TrainingInterrupted`` / ``TrainingDiverged`` carrying it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.api.errors import NnctlWarning, TrainingDiverged, TrainingInterrupted


@dataclass(frozen=True)
class TrainProgress:
    """What ``callback`` gets after each gradient step: the run, the step's index (from 0, as
    history.csv counts), the steps the run makes in all, and the step's cost."""

    run_id: str
    run_dir: Path
    iteration: int
    total: int
    cost: float


Callback = Callable[[TrainProgress], None]


def check_count(option: str, value: Any) -> None:
    """``threads``, ``more``, ``iterations``, ...: None or a positive whole number, else
    OptionError naming the parameter (the CLI's options refuse the same values)."""
    from nnctl.system import Invalid, OptionError, positive_int

    if value is not None:
        try:
            positive_int(value)
        except Invalid as exc:
            raise OptionError(option, str(exc)) from None


class _Hooks:
    """train_run's on_start and on_iteration: warnings, the callback and the bar."""

    def __init__(self, callback: Callback | None, progress: bool) -> None:
        self.callback, self.progress = callback, progress
        self.started: Any = None  # the RunStart, once the run directory exists
        self.bar: Any = None

    def start(self, run: Any) -> None:
        self.started = run
        for warning in run.warnings:
            warnings.warn(warning, NnctlWarning, stacklevel=2)
        if self.progress:
            from nnctl.api.progress import progress_bar

            self.bar = progress_bar(run)

    def iteration(self, i: int, cost: float) -> None:
        if self.bar is not None:
            self.bar.update(i, cost)
        if self.callback is not None:
            run = self.started
            self.callback(TrainProgress(run.run_id, run.run_dir, i, run.total_iterations, cost))

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def run_training(
    start: Callable[..., Any],
    make_run: Callable[[Path], Any],
    *,
    callback: Callback | None = None,
    progress: bool = False,
) -> Any:
    """Calls ``start(on_start=..., on_iteration=...)`` (``train_run`` or ``resume_run`` with
    their other arguments bound) with the signal handlers installed and returns
    ``make_run(run_dir)`` for the finished run. Raises TrainingInterrupted for an interrupted
    run (resumable when it has a checkpoint), TrainingDiverged for a diverged one."""
    from nnctl.runs import has_checkpoint
    from nnctl.system import interrupt

    hooks = _Hooks(callback, progress)
    interrupt.forget()
    try:
        with interrupt.handle_signals():
            outcome = start(on_start=hooks.start, on_iteration=hooks.iteration)
    except KeyboardInterrupt:
        # a second signal, or one outside the loop's step boundaries: the run (if it had
        # started) is already marked interrupted
        if hooks.started is None:
            raise
        outcome = None
    finally:
        hooks.stop()
    run_dir = hooks.started.run_dir if outcome is None else outcome.run_dir
    run = make_run(run_dir)
    status = run.summary.status
    if status == "interrupted":
        message = f"{run.summary.message or interrupt.describe()}; run marked interrupted"
        if has_checkpoint(run_dir):
            message += f"; continue it with nnctl.load_run({run.id!r}).resume()"
        raise TrainingInterrupted(message, run)
    if status == "diverged":
        raise TrainingDiverged(f"training diverged: {run.summary.message}", run)
    return run
