"""One training (a new run or a resumed one), the one ``nnctl train`` and ``nnctl.train`` both
run: SIGINT and SIGTERM stop it at a step boundary with a checkpoint
(``nnctl.system.interrupt``), the BLAS pools are limited to ``threads`` throughout, progress
goes to a callback and to a display (``progress=True``: rich's bar; the CLI passes its own, a
``TrainDisplay``), warnings to Python's ``warnings``; the outcome becomes a run, or
``TrainingInterrupted`` / ``TrainingDiverged`` carrying it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nnctl.api.errors import NnctlWarning, TrainingDiverged, TrainingInterrupted

if TYPE_CHECKING:
    from nnctl.commands.train import RunStart


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


@runtime_checkable
class TrainDisplay(Protocol):
    """What shows a training as it goes (``progress=`` of ``nnctl.train`` and ``Run.resume``):
    ``start(run)`` once the run directory exists (``run``: a ``RunStart``: ``run_id``,
    ``run_dir``, ``name``, ``layer_dims``, ``dtype``, ``n_train``, ``n_test``,
    ``total_iterations``, ``print_every``, ``notes``), ``iteration(i, cost)`` after each step
    (``i`` from 0), ``stop()`` at the end of a started run, also when the training raised. A
    display may also have ``decoding(done, total)``, called while image files are decoded,
    before ``start``. ``nnctl train``'s bar and lines are one; ``progress=True`` is rich's bar
    (``nnctl.api.progress``)."""

    def start(self, run: RunStart) -> None: ...

    def iteration(self, i: int, cost: float) -> None: ...

    def stop(self) -> None: ...


def as_display(progress: bool | TrainDisplay) -> TrainDisplay | None:
    """``progress`` as a display: a display as given; true (True, 1) -> rich's bar, false or
    None -> None. Raises TypeError for anything else."""
    if isinstance(progress, TrainDisplay):
        return progress
    kind = type(progress)
    numpy_bool = kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    if progress is None or isinstance(progress, int) or numpy_bool:
        if not progress:
            return None
        from nnctl.api.progress import RichBar

        return RichBar()
    raise TypeError(
        "progress: expected True, False or a display with start(run), iteration(i, cost) "
        f"and stop(), got {type(progress).__name__}"
    )


def decoding_callback(display: TrainDisplay | None) -> Callable[[int, int], None] | None:
    """The display's ``decoding(done, total)``, if it has one."""
    return getattr(display, "decoding", None)


class _Hooks:
    """train_run's on_start and on_iteration: warnings, the callback and the display."""

    def __init__(self, callback: Callback | None, display: TrainDisplay | None) -> None:
        self.callback, self.display = callback, display
        self.started: Any = None  # the RunStart, once the run directory exists
        self.shown = False

    def start(self, run: Any) -> None:
        self.started = run
        for warning in run.warnings:
            warnings.warn(warning, NnctlWarning, stacklevel=2)
        if self.display is not None:
            self.shown = True
            self.display.start(run)

    def iteration(self, i: int, cost: float) -> None:
        if self.display is not None:
            self.display.iteration(i, cost)
        if self.callback is not None:
            run = self.started
            self.callback(TrainProgress(run.run_id, run.run_dir, i, run.total_iterations, cost))

    def stop(self) -> None:
        if self.display is not None and self.shown:
            self.shown = False
            self.display.stop()


def run_training(
    start: Callable[..., Any],
    make_run: Callable[[Path], Any],
    *,
    callback: Callback | None = None,
    display: TrainDisplay | None = None,
    threads: int | None = None,
) -> Any:
    """Calls ``start(on_start=..., on_iteration=...)`` (``train_run`` or ``resume_run`` with
    their other arguments bound) with the signal handlers installed and the BLAS pools limited
    to ``threads`` (None: as the environment set them), and returns ``make_run(run_dir)`` for
    the finished run. Raises TrainingInterrupted for an interrupted run (resumable when it has
    a checkpoint), TrainingDiverged for a diverged one."""
    from nnctl.system import blas_threads, interrupt

    hooks = _Hooks(callback, display)
    interrupt.forget()
    clean = True
    try:
        with blas_threads(threads), interrupt.handle_signals():
            outcome = start(on_start=hooks.start, on_iteration=hooks.iteration)
    except KeyboardInterrupt:
        # a second signal, or one outside the loop's step boundaries: the run (if it had
        # started) is already marked interrupted
        if hooks.started is None:
            raise
        outcome, clean = None, False
    finally:
        hooks.stop()
    run_dir = hooks.started.run_dir if outcome is None else outcome.run_dir
    run = make_run(run_dir)
    status = run.summary.status
    if status == "interrupted" or not clean:
        message = f"{run.summary.message or interrupt.describe()}; run marked interrupted"
        if run.resumable:
            message += f"; continue it with nnctl.load_run({run.id!r}).resume()"
        raise TrainingInterrupted(message, run, clean=clean)
    if status == "diverged":
        raise TrainingDiverged(f"training diverged: {run.summary.message}", run)
    return run
