"""A run's files written in the one order that keeps its directory honest.

``write_run`` writes what a run has, each file atomically (``files.atomic_write``): the config,
history.csv, the parameters, the checkpoint (written, or removed when the parameters are all
there is to go on from), and the summary last, so a reader that sees the summary's status sees
the files it speaks of. ``train`` (``nnctl.commands.train``) and a sweep's trials
(``nnctl.sweep.trial``) both write through it. ``mark_failed`` and ``mark_interrupted`` record
a run that stopped on an error or a Ctrl-C outside the training loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nnctl import runs
from nnctl.system import RunError, interrupt

if TYPE_CHECKING:
    import numpy as np

    from nnctl.runs.summary import RunSummary
    from nnctl.training import TrainState


def write_run(
    run_dir: Path,
    summary: RunSummary,
    *,
    config_text: str | None = None,
    history: tuple[tuple[str, ...], list[tuple]] | None = None,
    params: dict[str, np.ndarray] | None = None,
    checkpoint: TrainState | None = None,
    drop_checkpoint: bool = False,
) -> None:
    """Writes the run's files that are given, in order: ``config_text`` (config.yaml),
    ``history`` ((header, rows) of history.csv), ``params`` (W1, b1, ...; W_l: (n_l, n_{l-1})),
    ``checkpoint`` (the state to go on from; ``drop_checkpoint``: remove a stale one instead),
    then ``summary``. Raises RunError when a file cannot be written."""
    # each through the package's name, so that a test replacing one (a save that fails) is heard
    if config_text is not None:
        runs.save_config_text(run_dir, config_text)
    if history is not None:
        header, rows = history
        runs.save_history(run_dir, rows, header)
    if params is not None:
        runs.save_params(run_dir, params)
    if checkpoint is not None:
        runs.save_checkpoint(checkpoint, run_dir)
    elif drop_checkpoint:
        runs.remove_checkpoint(run_dir)
    summary.write(run_dir)


def mark_failed(run_dir: Path, summary: RunSummary, exc: BaseException) -> None:
    """Leave the directory visibly unfinished rather than looking complete."""
    message = "out of memory" if isinstance(exc, MemoryError) else str(exc) or type(exc).__name__
    summary.status, summary.finished, summary.message = "failed", runs.utc_now(), message
    _write_quietly(run_dir, summary)


def mark_interrupted(run_dir: Path, summary: RunSummary, state: TrainState | None) -> None:
    """An interruption outside the loop (a second Ctrl-C while saving): the run is
    interrupted, not failed, and keeps a checkpoint of its last whole step (``state``) when
    there is one."""
    summary.status, summary.finished = "interrupted", runs.utc_now()
    summary.message = f"{interrupt.describe()} while saving"
    if state is not None:
        try:
            runs.save_checkpoint(state, run_dir)
        except (RunError, KeyboardInterrupt):
            pass
    _write_quietly(run_dir, summary)


def _write_quietly(run_dir: Path, summary: RunSummary) -> None:
    try:
        summary.write(run_dir)
    except (RunError, ValueError):  # ValueError: a value JSON cannot hold; the status matters more
        pass
