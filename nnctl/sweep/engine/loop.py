"""The loop of a sweep: ask the study for each trial's values, keep the workers busy, take each
trial back as it finishes (sending it once more if its worker died), tell the study, and hand
the run to the writer; what the display is told along the way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import RunLock
from nnctl.sweep import store
from nnctl.sweep.engine import cluster
from nnctl.sweep.engine.backends import import_backends
from nnctl.sweep.engine.datasets import Datasets
from nnctl.sweep.engine.prepare import open_sweep
from nnctl.sweep.engine.results import Writer, complete_curves, failed_row
from nnctl.sweep.engine.study import decode, distributions, enqueue_grid, new_study, study_json
from nnctl.sweep.spec import base_raw, trial_config
from nnctl.sweep.store import SweepRecord, TrialRow
from nnctl.sweep.trial import prune_rule, run_trial, trial_value
from nnctl.system import NnctlError, RunError

RETRIES = 1  # a trial whose worker died is sent this many more times, then recorded as failed


@dataclass(frozen=True)
class SweepEvent:
    """What the display is told: a trial was sent (``row`` None, ``sent`` its values), came
    back (``row``), or is sent again after its worker died (``retry``); or a ``notice`` to
    show in one line (``message``: e.g. a worker count that was capped)."""

    kind: str  # "notice", "start", "sent", "retry", "done"
    trial: int | None = None
    params: dict[str, Any] | None = None
    row: TrialRow | None = None
    best: TrialRow | None = None
    record: SweepRecord | None = None
    message: str | None = None


OnEvent = Callable[[SweepEvent], None]


def run_sweep(
    sweep_dir: Path,
    runs_dir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_event: OnEvent | None = None,
) -> SweepRecord:
    """Runs (or continues) the sweep in ``sweep_dir`` until it has ``n_trials`` finished
    trials. Each trial's run goes to ``runs_dir``. On Ctrl-C (or SIGTERM, which the CLI turns
    into it) the trials in flight are abandoned (they are run again by ``resume``), the record
    says interrupted, and KeyboardInterrupt propagates. One client at a time runs a sweep: it
    holds the sweep directory's lock (``runs.lock.RunLock``) throughout, and a second is
    refused. Raises ConfigError, DataError, RunError, UsageError."""
    import_backends()  # not installed: say so before anything else
    lock = RunLock.acquire(sweep_dir, what="sweep directory", doing="run")
    try:
        return _run_locked(sweep_dir, runs_dir, workers, scheduler, on_event)
    finally:
        lock.release()


def _run_locked(
    sweep_dir: Path,
    runs_dir: Path,
    workers: int | None,
    scheduler: str | None,
    on_event: OnEvent | None,
) -> SweepRecord:
    """``run_sweep`` once the sweep's lock is held."""
    distributed, optuna = import_backends()
    from optuna.trial import TrialState

    spec, record = open_sweep(sweep_dir)
    emit = on_event or (lambda e: None)
    raw = base_raw(spec)
    dists = distributions(optuna, spec.space)
    told = store.read_study(sweep_dir)["trials"]  # trials the study was told, in order
    try:
        study = new_study(optuna, spec, dists, told)
    except ValueError as exc:  # parameters outside the sweep's space, a value Optuna refuses
        raise RunError(f"{sweep_dir / store.STUDY_FILE}: damaged study ({exc})") from None
    if spec.sampler == "grid":  # every combination not yet run, in the grid's order
        enqueue_grid(study, spec, told)
    # Per-epoch validation losses of complete trials, for the pruning rule: kept in memory while
    # the sweep runs, read back from the runs' own history after an interruption.
    curves: list[list[float]] = complete_curves(record, runs_dir) if spec.prune else []
    record.status = "running"
    store.write_record(sweep_dir, record)
    client = local_cluster = None
    writer = Writer(sweep_dir)
    # future -> (trial, id, cfg, values, attempts)
    inflight: dict[Any, tuple[Any, int, Any, dict[str, Any], int]] = {}
    try:
        if scheduler is None:
            workers, notice = cluster.worker_count(workers, record.n_trials - len(record.trials))
            if notice is not None:
                emit(SweepEvent("notice", message=notice))
        client, local_cluster, slots = cluster.connect(distributed, workers, scheduler)
        data = Datasets(client)
        ac = distributed.as_completed(loop=client.loop)
        emit(
            SweepEvent(
                "start",
                record=record,
                message=f"{slots} worker(s)" + (f" at {scheduler}" if scheduler else ""),
            )
        )

        def send(trial: Any, tid: int, cfg: Any, values: dict[str, Any], attempts: int) -> None:
            rule = prune_rule(curves, cfg.epochs) if spec.prune else None
            fut = client.submit(
                run_trial,
                cfg,
                data.future(cfg),
                rule,
                key=f"{record.sweep_id}-t{tid:04d}-a{attempts}",
                pure=False,
                retries=0,
            )
            inflight[fut] = (trial, tid, cfg, values, attempts)
            ac.add(fut)

        def tell(
            trial: Any, tid: int, state: Any, value: float | None = None
        ) -> list[tuple[str, dict]]:
            """Tells the study; returns the study and results files to write, as they now are."""
            study.tell(
                trial,
                value if state == TrialState.COMPLETE else None,
                state=None if state == TrialState.COMPLETE else state,
            )
            told.append({"trial": tid, "state": state.name, "params": trial.params, "value": value})
            return [
                (store.STUDY_FILE, study_json(spec, told)),
                (store.RESULTS_FILE, record.to_json()),
            ]

        def fill() -> None:
            # One trial more than there are worker threads: the next one is already on its way
            # while the client writes a finished run and tells the study, so a worker never
            # waits for the client. One worker still runs its trials in the order they were
            # asked for, so a one-worker sweep is reproducible.
            while (
                len(inflight) < slots + 1 and len(record.trials) + len(inflight) < record.n_trials
            ):
                trial = study.ask(dists)
                tid = record.next_trial  # the sweep's own trial number, unique across resumes
                record.next_trial += 1
                values = decode(spec.space, trial.params)
                cfg = trial_config(
                    spec, raw, values, f"{record.sweep_id}-t{tid:04d}", f"trial {tid}"
                )
                send(trial, tid, cfg, values, 1)
                emit(SweepEvent("sent", trial=tid, params=values))

        fill()
        while inflight:
            fut = next(ac)
            trial, tid, cfg, values, attempts = inflight.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:
                if cluster.is_worker_death(exc) and attempts <= RETRIES:
                    emit(
                        SweepEvent(
                            "retry",
                            trial=tid,
                            params=values,
                            message=f"trial {tid}: its worker died; sending it again",
                        )
                    )
                    fut.release()
                    send(trial, tid, cfg, values, attempts + 1)
                    continue
                row = failed_row(
                    runs_dir, record, tid, cfg, values, attempts, _why_failed(exc, attempts)
                )
                record.trials.append(row)
                writer.files(tell(trial, tid, TrialState.FAIL))
            else:
                value = trial_value(result, spec.metric)
                run_dir = runs.create_run_dir(runs_dir)
                row = TrialRow(
                    tid,
                    run_dir.name,
                    result.status,
                    values,
                    value,
                    attempts,
                    result.summary.message,
                )
                record.trials.append(row)
                if result.status == "complete" and value is not None:
                    files = tell(trial, tid, TrialState.COMPLETE, value)
                    if spec.prune:
                        curves.append(result.val_losses)
                else:
                    files = tell(
                        trial,
                        tid,
                        TrialState.PRUNED if result.status == "pruned" else TrialState.FAIL,
                    )
                writer.run(run_dir, result, record.sweep_id, tid, attempts, files)
                del result  # the writer holds it until it is on disk, then nobody does
            fut.release()
            emit(
                SweepEvent(
                    "done", trial=tid, params=values, row=row, best=record.best(), record=record
                )
            )
            fill()
        writer.drain()
        record.status = "complete"
        store.write_record(sweep_dir, record)
    except KeyboardInterrupt:
        writer.drain()
        record.status = "interrupted"
        store.write_record(sweep_dir, record)
        raise
    except BaseException:
        # Whatever else stopped it (a scheduler out of reach, a full disk), the sweep is no
        # longer running: it says interrupted, so that resume continues it.
        with contextlib.suppress(Exception):
            writer.drain()
            record.status = "interrupted"
            store.write_record(sweep_dir, record)
        raise
    finally:
        for fut in list(inflight):
            fut.cancel()
        writer.close()
        if client is not None:
            cluster.close(client, local_cluster)
    return record


def _why_failed(exc: Exception, attempts: int) -> str:
    """The message of a trial that failed with ``exc`` on its ``attempts``-th sending."""
    if isinstance(exc, NnctlError):  # the config does not fit the data: this trial only
        return str(exc)
    if cluster.is_worker_death(exc):
        return "its worker died" + (" twice" if attempts > 1 else "")
    return f"{type(exc).__name__}: {exc}"
