"""Running a sweep: Optuna chooses each trial's values, Dask distributed trains the trials,
the client writes every trial as an ordinary run.

The client reads each distinct dataset once and scatters it to the workers; a worker trains
with nnctl's library in-process (``trial.run_trial``) and sends the run's contents back; the
client writes the run directory through the runs package's atomic writers as each trial
finishes, so it holds no trial's parameters for longer than that. A worker that dies mid-trial
costs that trial only: it is sent once more, then recorded as failed.

Optuna and Dask are imported only here (``nnctl sweep run``/``resume``), never by the rest of
the library.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nnctl import runs
from nnctl.errors import NnctlError, RunError, UsageError
from nnctl.sweep import store
from nnctl.sweep.spec import Param, SweepSpec, base_raw, load_sweep, parse_sweep, trial_config
from nnctl.sweep.store import SweepRecord, TrialRow
from nnctl.sweep.trial import prune_rule, run_trial, trial_value, value_of, write_failed_run, write_trial_run

INSTALL_HINT = "pip install 'nnctl[sweep]'  (or: pip install 'dask[distributed]' optuna)"
RETRIES = 1  # a trial whose worker died is sent this many more times, then recorded as failed


@dataclass(frozen=True)
class SweepEvent:
    """What the display is told: a trial was sent (``row`` None, ``sent`` its values), came
    back (``row``), or is sent again after its worker died (``retry``)."""

    kind: str  # "start", "sent", "retry", "done"
    trial: int | None = None
    params: dict[str, Any] | None = None
    row: TrialRow | None = None
    best: TrialRow | None = None
    record: SweepRecord | None = None
    message: str | None = None


OnEvent = Callable[[SweepEvent], None]


def _imports() -> tuple[Any, Any]:
    try:
        import distributed
        import optuna
    except ImportError:
        raise UsageError(f"nnctl sweep needs Dask distributed and Optuna, which are not installed; "
                         f"install them with: {INSTALL_HINT}") from None
    return distributed, optuna


def _distributions(optuna: Any, space: tuple[Param, ...]) -> dict[str, Any]:
    d = optuna.distributions
    out = {}
    for p in space:
        if p.kind == "choice":
            out[p.key] = d.CategoricalDistribution(list(p.args) if p.scalar_choices else list(range(len(p.args))))
        elif p.kind == "int_uniform":
            out[p.key] = d.IntDistribution(*p.args)
        else:
            out[p.key] = d.FloatDistribution(*p.args, log=p.kind == "log_uniform")
    return out


def _decode(space: tuple[Param, ...], params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's values -> config values (a non-scalar choice is stored as its index)."""
    out = {}
    for p in space:
        v = value_of(params[p.key])
        out[p.key] = p.args[v] if p.kind == "choice" and not p.scalar_choices else v
    return out


def _encode(space: tuple[Param, ...], values: dict[str, Any]) -> dict[str, Any]:
    return {p.key: (values[p.key] if p.scalar_choices else p.args.index(values[p.key])) if p.kind == "choice"
            else values[p.key] for p in space}


def _study(optuna: Any, spec: SweepSpec, sweep_dir: Path, sweep_id: str) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(sweep_dir / store.STUDY_FILE)))
    if spec.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=spec.seed)
    else:  # grid trials are enqueued with their values; the sampler then draws nothing
        sampler = optuna.samplers.RandomSampler(seed=spec.seed)
    return optuna.create_study(study_name=sweep_id, storage=storage, sampler=sampler,
                               direction=spec.direction, load_if_exists=True)


def start_sweep(spec: SweepSpec, runs_dir: Path) -> Path:
    """Creates the sweep directory (sweep file copy, empty results) and its study. Returns it."""
    _, optuna = _imports()
    sweep_id, sweep_dir = store.new_sweep_id(spec.path.stem, runs_dir)
    store.save_sweep_text(sweep_dir, spec.text)
    record = SweepRecord(sweep_id, str(spec.path.absolute()), str(spec.config), spec.metric, spec.direction,
                         spec.sampler, spec.n_trials(), runs.utc_now(), keys=[p.key for p in spec.space])
    store.write_record(sweep_dir, record)
    study = _study(optuna, spec, sweep_dir, sweep_id)
    if spec.sampler == "grid":
        for values in spec.grid():
            study.enqueue_trial(_encode(spec.space, values))
    return sweep_dir


def open_sweep(sweep_dir: Path) -> tuple[SweepSpec, SweepRecord]:
    """The spec and results of an existing sweep, its sweep file re-read from the copy it holds
    (relative paths resolve as they did when it started)."""
    record = store.read_record(sweep_dir)
    try:
        text = (sweep_dir / store.SWEEP_FILE).read_text(encoding="utf-8")
    except OSError as exc:
        raise RunError(f"{sweep_dir}: cannot read {store.SWEEP_FILE}: {exc}") from None
    return parse_sweep(text, Path(record.sweep_file)), record


class _Data:
    """Each distinct dataset of the sweep's trials, read once here and scattered once (again
    only if every worker that held it is gone). Datasets are small next to a sweep's parameters."""

    def __init__(self, client: Any) -> None:
        self.client, self.futures = client, {}

    def future(self, cfg: Any) -> Any:
        from nnctl.data import load_dataset

        key = json.dumps([cfg.dataset, cfg.dtype, cfg.arch.loss.task], sort_keys=True, default=str)
        held = self.futures.get(key)
        if held is None or held[1].status != "finished":  # new, or every worker holding it died
            ds = held[0] if held is not None else load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
            # to every worker: a worker that dies takes no other worker's copy with it
            self.futures[key] = (ds, self.client.scatter(ds, hash=False, broadcast=True))
        return self.futures[key][1]


def _is_worker_death(exc: BaseException) -> bool:
    from distributed import KilledWorker

    try:
        from distributed.comm.core import CommClosedError
    except ImportError:  # pragma: no cover
        CommClosedError = KilledWorker  # type: ignore[misc,assignment]
    return isinstance(exc, (KilledWorker, CommClosedError))


def _connect(distributed: Any, workers: int | None, scheduler: str | None) -> tuple[Any, Any, int]:
    """A client of a LocalCluster (``workers`` processes, one thread and one BLAS thread each)
    or of the cluster at ``scheduler``; and how many trials to keep in flight (one per worker
    thread)."""
    import dask

    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc})") from None
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            client.close()
            raise UsageError(f"--scheduler {scheduler}: the scheduler has no workers (start some with: "
                             f"dask worker {scheduler} --nthreads 1)") from None
        slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        return client, None, max(1, slots)
    n = workers or os.cpu_count() or 1
    # A trial whose worker died is not rescheduled behind the client's back: the client sends
    # it once more itself (RETRIES) and says so.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        # Everything on 127.0.0.1; the scheduler's HTTP server (always started) on a free port
        # rather than 8787, which another sweep on this machine may hold.
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None, silence_logs=logging.CRITICAL,
                                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    client = distributed.Client(cluster, set_as_default=False)
    return client, cluster, n


def run_sweep(sweep_dir: Path, runs_dir: Path, workers: int | None = None, scheduler: str | None = None,
              on_event: OnEvent | None = None) -> SweepRecord:
    """Runs (or continues) the sweep in ``sweep_dir`` until it has ``n_trials`` finished
    trials. Each trial's run goes to ``runs_dir``. On Ctrl-C the trials in flight are
    abandoned (they are run again by ``resume``), the record says interrupted, and
    KeyboardInterrupt propagates. Raises ConfigError, DataError, RunError, UsageError."""
    distributed, optuna = _imports()
    from optuna.trial import TrialState

    spec, record = open_sweep(sweep_dir)
    emit = on_event or (lambda e: None)
    raw = base_raw(spec)
    study = _study(optuna, spec, sweep_dir, record.sweep_id)
    # Trials the last client sent but never heard back from: fail them in the study and ask
    # for the same values again, so an interruption loses no trial of the grid or the plan.
    done_numbers = {r.trial for r in record.trials}
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.number not in done_numbers:
            study.tell(t.number, state=TrialState.FAIL)
            study.enqueue_trial(t.params)
    dists = _distributions(optuna, spec.space)
    # Per-epoch validation losses of complete trials, for the pruning rule: kept in memory while
    # the sweep runs, read back from the runs' own history after an interruption (not copied
    # into the study: one journal write per epoch would cost more than the training).
    curves: list[list[float]] = [runs.read_history_table(runs_dir / r.run_id).val_loss.tolist()
                                 for r in record.trials if r.status == "complete" and r.run_id
                                 and (runs_dir / r.run_id).is_dir()] if spec.prune else []
    record.status = "running"
    store.write_record(sweep_dir, record)
    client, cluster, slots = _connect(distributed, workers, scheduler)
    writer = _Writer(sweep_dir)
    inflight: dict[Any, tuple[Any, Any, dict[str, Any], int]] = {}  # future -> (trial, cfg, values, attempts)
    try:
        data = _Data(client)
        ac = distributed.as_completed(loop=client.loop)
        emit(SweepEvent("start", record=record, message=f"{slots} worker(s)" + (f" at {scheduler}" if scheduler else "")))

        def send(trial: Any, cfg: Any, values: dict[str, Any], attempts: int) -> None:
            rule = prune_rule(curves, cfg.epochs) if spec.prune else None
            fut = client.submit(run_trial, cfg, data.future(cfg), rule, key=f"{record.sweep_id}-t{trial.number:04d}-a{attempts}",
                                pure=False, retries=0)
            inflight[fut] = (trial, cfg, values, attempts)
            ac.add(fut)

        def fill() -> None:
            # One trial more than there are worker threads: the next one is already on its way
            # while the client writes a finished run and tells the study, so a worker never
            # waits for the client. One worker still runs its trials in the order they were
            # asked for, so a one-worker sweep is reproducible.
            while len(inflight) < slots + 1 and len(record.trials) + len(inflight) < record.n_trials:
                trial = study.ask(dists)
                values = _decode(spec.space, trial.params)
                name = f"{record.sweep_id}-t{trial.number:04d}"
                cfg = trial_config(spec, raw, values, name, f"trial {trial.number}")
                send(trial, cfg, values, 1)
                emit(SweepEvent("sent", trial=trial.number, params=values))

        fill()
        while inflight:
            fut = next(ac)
            trial, cfg, values, attempts = inflight.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - whatever killed the worker or the task
                if _is_worker_death(exc) and attempts <= RETRIES:
                    emit(SweepEvent("retry", trial=trial.number, params=values,
                                    message=f"trial {trial.number}: its worker died; sending it again"))
                    fut.release()
                    send(trial, cfg, values, attempts + 1)
                    continue
                if isinstance(exc, NnctlError):  # the config does not fit the data: this trial only
                    why = str(exc)
                elif _is_worker_death(exc):
                    why = "its worker died" + (" twice" if attempts > 1 else "")
                else:
                    why = f"{type(exc).__name__}: {exc}"
                study.tell(trial, state=TrialState.FAIL)
                row = _failed(runs_dir, record, trial.number, cfg, values, attempts, why)
                record.trials.append(row)
                writer.record(record.to_json())
            else:
                value = trial_value(result, spec.metric)
                if result.status == "complete" and value is not None:
                    study.tell(trial, value)
                    if spec.prune:
                        curves.append(result.val_losses)
                elif result.status == "pruned":
                    study.tell(trial, state=TrialState.PRUNED)
                else:
                    study.tell(trial, state=TrialState.FAIL)
                run_dir = runs.create_run_dir(runs_dir)
                row = TrialRow(trial.number, run_dir.name, result.status, values, value, attempts,
                               result.summary.message)
                record.trials.append(row)
                writer.write(run_dir, result, record.sweep_id, trial.number, attempts, record.to_json())
                del result  # the writer holds it until it is on disk, then nobody does
            fut.release()
            emit(SweepEvent("done", trial=trial.number, params=values, row=row, best=record.best(), record=record))
            fill()
        writer.drain()
        record.status = "complete"
        store.write_record(sweep_dir, record)
    except KeyboardInterrupt:
        writer.drain()
        record.status = "interrupted"
        store.write_record(sweep_dir, record)
        raise
    finally:
        for fut in list(inflight):
            fut.cancel()
        writer.close()
        _close(client, cluster)
    return record


class _Writer:
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

    def write(self, run_dir: Path, result: Any, sweep_id: str, trial: int, attempts: int, snapshot: dict) -> None:
        def job() -> None:
            write_trial_run(run_dir, result, sweep_id, trial, attempts)
            runs.write_json(self.sweep_dir / store.RESULTS_FILE, snapshot)

        self._submit(job)

    def record(self, snapshot: dict) -> None:
        self._submit(runs.write_json, self.sweep_dir / store.RESULTS_FILE, snapshot)

    def drain(self) -> None:
        while self.pending:
            self.pending.pop(0).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _failed(runs_dir: Path, record: SweepRecord, number: int, cfg: Any, values: dict[str, Any], attempts: int,
            message: str) -> TrialRow:
    run_dir = write_failed_run(runs_dir, cfg, message, record.sweep_id, number, attempts)
    return TrialRow(number, run_dir.name, "failed", values, None, attempts, message)


def _close(client: Any, cluster: Any) -> None:
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - closing after an interruption must not hide it
        pass
    if cluster is not None:
        try:
            cluster.close(timeout=10)
        except Exception:  # noqa: BLE001
            pass


def check_sweep(spec: SweepSpec) -> tuple[int, int]:
    """Validates every trial config the sweep file lets one enumerate (the grid, or each
    key's choices and range ends), and each against its data (``bind``: layer sizes, classes,
    task), before anything trains. Returns (configs checked, trials the sweep will run).
    Raises ConfigError or DataError."""
    from nnctl.binding import bind
    from nnctl.data import load_dataset
    from nnctl.sweep.spec import check_values

    raw = base_raw(spec)
    loaded: dict[str, Any] = {}
    values_list = check_values(spec)
    for i, values in enumerate(values_list):
        label = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
        cfg = trial_config(spec, raw, values, "check", label)
        key = json.dumps([cfg.dataset, cfg.dtype, cfg.arch.loss.task], sort_keys=True, default=str)
        if key not in loaded:
            loaded[key] = load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
        bind(cfg, loaded[key])
    return len(values_list), spec.n_trials()


__all__ = ["SweepEvent", "check_sweep", "load_sweep", "open_sweep", "run_sweep", "start_sweep"]
