"""The API's own members of the library's exception family: bad arrays raise errors that are
both the library's ``DataError`` (so ``except NnctlError`` catches them, with the one-line
messages the readers use) and the ``ValueError`` / ``TypeError`` Python users expect; a training
stopped by Ctrl-C or SIGTERM raises ``TrainingInterrupted``, a ``KeyboardInterrupt`` (a notebook
cell stops as it does for any interrupt) that carries the resumable run."""

from __future__ import annotations

from typing import Any

from nnctl.system import DataError, RunError


class DataValueError(DataError, ValueError):
    """Arrays with the wrong shape, no examples, NaN or infinite values, or lengths that do not
    match (X and y, or X and the run's inputs)."""


class DataTypeError(DataError, TypeError):
    """Arrays of the wrong kind: strings or objects as features, labels that are neither
    numbers nor strings, or data of a type that is no array at all."""


class TrainingDiverged(RunError):
    """The cost became NaN or infinite; ``run`` is the (diverged) run, its message says
    where."""

    def __init__(self, message: str, run: Any) -> None:
        super().__init__(message)
        self.run = run


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the training at a step boundary; the run is marked
    interrupted and, when it has a checkpoint, ``run.resume()`` continues it bit for bit.
    ``clean`` is False when a second signal (or one outside the training loop) cut the run
    short instead: it is marked interrupted, with no scores or history of its last steps."""

    def __init__(self, message: str, run: Any, *, clean: bool = True) -> None:
        super().__init__(message)
        self.run = run
        self.clean = clean

    def __str__(self) -> str:
        return str(self.args[0])


class NnctlWarning(UserWarning):
    """A setting or data file that is allowed but probably not what was meant (the CLI prints
    these as ``warning:`` lines), or a run directory ``list_runs`` skipped."""
