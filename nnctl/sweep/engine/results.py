"""What the client writes as trials finish: each trial's run, then the sweep's study and results
files, on a background writer; the run of a trial that failed; and, for the pruning rule, the
validation curves of the complete trials read back after an interruption."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import read_history_table
from nnctl.sweep.store import SweepRecord, TrialRow
from nnctl.sweep.trial import write_failed_run, write_trial_run


class Writer:
    """Writes finished trials' runs, then the results table, on one background thread, in the
    order they finished: the client's disk writes (each file fsynced) overlap the next trial's
    round trip instead of adding to it. At most ``depth`` trials wait to be written, so a slow
    disk slows the sweep down rather than filling the client's memory with parameters."""

    def __init__(self, sweep_dir: Path, depth: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.sweep_dir, self.depth = sweep_dir, depth
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="nnctl-sweep-writer")
        self.pending: list[Any] = []

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        done = [f for f in self.pending if f.done()]
        for f in done:
            f.result()  # a write that failed raises its RunError here
        self.pending = [f for f in self.pending if not f.done()]
        while len(self.pending) >= self.depth:
            self.pending.pop(0).result()  # raises the writer's RunError here
        self.pending.append(self.pool.submit(fn, *args))

    def run(
        self,
        run_dir: Path,
        result: Any,
        sweep_id: str,
        trial: int,
        attempts: int,
        files: list[tuple[str, dict]],
    ) -> None:
        """The trial's run, then the sweep's ``files`` (name, JSON) as they were at its end."""

        def job() -> None:
            write_trial_run(run_dir, result, sweep_id, trial, attempts)
            self._write(files)

        self._submit(job)

    def files(self, files: list[tuple[str, dict]]) -> None:
        """The sweep's ``files`` (name, JSON), after the writes already queued."""
        self._submit(self._write, files)

    def _write(self, files: list[tuple[str, dict]]) -> None:
        for name, obj in files:
            runs.write_json(self.sweep_dir / name, obj)

    def drain(self) -> None:
        """Waits until everything queued is on disk; raises the first write's RunError."""
        while self.pending:
            self.pending.pop(0).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def failed_row(
    runs_dir: Path,
    record: SweepRecord,
    number: int,
    cfg: Any,
    values: dict[str, Any],
    attempts: int,
    message: str,
) -> TrialRow:
    """Writes the run of trial ``number``, which failed with ``message``; returns its row."""
    run_dir = write_failed_run(runs_dir, cfg, message, record.sweep_id, number, attempts)
    return TrialRow(number, run_dir.name, "failed", values, None, attempts, message)


def complete_curves(record: SweepRecord, runs_dir: Path) -> list[list[float]]:
    """The per-epoch validation losses of the record's complete trials, from their runs'
    history (a run removed since is left out)."""
    return [
        read_history_table(runs_dir / r.run_id).val_loss.tolist()
        for r in record.trials
        if r.status == "complete" and r.run_id and (runs_dir / r.run_id).is_dir()
    ]
