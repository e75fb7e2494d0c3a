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
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import read_history_table
from nnctl.sweep import store
from nnctl.sweep.spec import Param, SweepSpec, base_raw, load_sweep, parse_sweep, trial_config
from nnctl.sweep.store import SweepRecord, TrialRow
from nnctl.sweep.trial import (
    prune_rule,
    run_trial,
    trial_value,
    value_of,
    write_failed_run,
    write_trial_run,
)
from nnctl.system import NnctlError, RunError, UsageError

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
        raise UsageError(
            f"nnctl sweep needs Dask distributed and Optuna, which are not installed; "
            f"install them with: {INSTALL_HINT}"
        ) from None
    return distributed, optuna


def _distributions(optuna: Any, space: tuple[Param, ...]) -> dict[str, Any]:
    d = optuna.distributions
    out = {}
    for p in space:
        if p.kind == "choice":
            out[p.key] = d.CategoricalDistribution(
                list(p.args) if p.scalar_choices else list(range(len(p.args)))
            )
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
    return {
        p.key: (values[p.key] if p.scalar_choices else p.args.index(values[p.key]))
        if p.kind == "choice"
        else values[p.key]
        for p in space
    }


def _study(optuna: Any, spec: SweepSpec, dists: dict[str, Any], told: list[dict[str, Any]]) -> Any:
    """The Optuna study, in memory, with the trials already told (``study.json``) added back:
    the sampler sees the same history after a resume. (Optuna's journal file storage would
    fsync several times per trial on the client's critical path; the study is instead written
    by the background writer after each trial.)"""
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A resumed study's sampler starts a new random stream (seed + trials told): with the
    # sweep's own seed it would draw its first trials' values again.
    seed = spec.seed + len(told)
    if spec.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:  # grid trials are enqueued with their values; the sampler then draws nothing
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler, direction=spec.direction)
    for t in told:
        state = TrialState[t["state"]]
        study.add_trial(
            create_trial(
                params=t["params"],
                distributions=dists,
                state=state,
                value=t["value"] if state == TrialState.COMPLETE else None,
            )
        )
    return study


def start_sweep(spec: SweepSpec, runs_dir: Path) -> Path:
    """Creates the sweep directory (sweep file copy, empty study and results). Returns it."""
    _imports()
    sweep_id, sweep_dir = store.new_sweep_id(spec.path.stem, runs_dir)
    store.save_sweep_text(sweep_dir, spec.text)
    record = SweepRecord(
        sweep_id,
        str(spec.path.absolute()),
        str(spec.config),
        spec.metric,
        spec.direction,
        spec.sampler,
        spec.n_trials(),
        runs.utc_now(),
        keys=[p.key for p in spec.space],
    )
    store.write_study(sweep_dir, _study_json(spec, []))
    store.write_record(sweep_dir, record)
    return sweep_dir


def _study_json(spec: SweepSpec, told: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sampler": spec.sampler,
        "seed": spec.seed,
        "direction": spec.direction,
        "metric": spec.metric,
        "space": {p.key: {p.kind: list(p.args)} for p in spec.space},
        "trials": told,
    }


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
        self.streamed: dict[str, bool] = {}  # per dataset: whether its trials stream it

    def future(self, cfg: Any) -> Any:
        """The scattered dataset of ``cfg``'s trials; None for data streamed from its files,
        which each trial reads itself (``streams``)."""
        from nnctl.data import load_dataset

        key = json.dumps([cfg.dataset, cfg.dtype, cfg.arch.loss.task], sort_keys=True, default=str)
        if key not in self.streamed:  # the files' headers are read once per dataset, not per trial
            self.streamed[key] = streams(cfg)
        if self.streamed[key]:
            return None
        held = self.futures.get(key)
        if held is None or held[1].status != "finished":  # new, or every worker holding it died
            ds = (
                held[0]
                if held is not None
                else load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
            )
            # to every worker: a worker that dies takes no other worker's copy with it
            self.futures[key] = (ds, self.client.scatter(ds, hash=False, broadcast=True))
        return self.futures[key][1]


def streams(cfg: Any) -> bool:
    """Whether ``cfg``'s data is streamed from its files (``dataset.stream``, or too large for
    memory: ``nnctl.data.stream.streaming_plan``). Such a dataset is neither read nor scattered by
    the client: each trial streams it from the file's path itself, as ``train`` would, so the
    workers must see the file at that path (always so for the local cluster)."""
    from nnctl.data import streaming_plan

    return streaming_plan(cfg.dataset, cfg.path, cfg.source, cfg.dtype, cfg.batch_size).stream


def _is_worker_death(exc: BaseException) -> bool:
    """A trial lost with its worker: the scheduler gave up on it (KilledWorker), the connection
    closed, or the scheduler cancelled it because the data it needed died with every worker
    that held it (the client cancels nothing while trials are in flight)."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    return isinstance(exc, (KilledWorker, CommClosedError, FutureCancelledError, CancelledError))


def _connect(distributed: Any, workers: int | None, scheduler: str | None) -> tuple[Any, Any, int]:
    """A client of a LocalCluster (``workers`` processes, one thread and one BLAS thread each)
    or of the cluster at ``scheduler``; and how many trials to keep in flight (one per worker
    thread)."""
    import dask

    if scheduler is not None:
        if "://" not in scheduler:
            raise UsageError(
                f"--scheduler {scheduler}: expected a Dask scheduler address like tcp://HOST:8786"
            )
        try:
            client = distributed.Client(scheduler, timeout="5s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc})"
            ) from None
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            client.close()
            raise UsageError(
                f"--scheduler {scheduler}: the scheduler has no workers (start some with: "
                f"dask worker {scheduler} --nthreads 1)"
            ) from None
        slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        return client, None, max(1, slots)
    n = workers or os.cpu_count() or 1
    # A trial whose worker died is not rescheduled behind the client's back: the client sends
    # it once more itself (RETRIES) and says so.
    # Ctrl-C on a terminal reaches the whole process group: the worker processes start with
    # SIGINT ignored (inherited through exec), so only the client handles it and shuts them
    # down, instead of each worker printing its own KeyboardInterrupt traceback.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            # Everything on 127.0.0.1; the scheduler's HTTP server (always started) on a free
            # port rather than 8787, which another sweep on this machine may hold.
            cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    client = distributed.Client(cluster, set_as_default=False)
    return client, cluster, n


def run_sweep(
    sweep_dir: Path,
    runs_dir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_event: OnEvent | None = None,
) -> SweepRecord:
    """Runs (or continues) the sweep in ``sweep_dir`` until it has ``n_trials`` finished
    trials. Each trial's run goes to ``runs_dir``. On Ctrl-C the trials in flight are
    abandoned (they are run again by ``resume``), the record says interrupted, and
    KeyboardInterrupt propagates. Raises ConfigError, DataError, RunError, UsageError."""
    distributed, optuna = _imports()
    from optuna.trial import TrialState

    spec, record = open_sweep(sweep_dir)
    emit = on_event or (lambda e: None)
    raw = base_raw(spec)
    dists = _distributions(optuna, spec.space)
    told = store.read_study(sweep_dir)["trials"]  # trials the study was told, in order
    study = _study(optuna, spec, dists, told)
    if spec.sampler == "grid":  # every combination not yet run, in the grid's order
        done = {json.dumps(t["params"], sort_keys=True) for t in told}
        for values in spec.grid():
            encoded = _encode(spec.space, values)
            if json.dumps(encoded, sort_keys=True) not in done:
                study.enqueue_trial(encoded)
    # Per-epoch validation losses of complete trials, for the pruning rule: kept in memory while
    # the sweep runs, read back from the runs' own history after an interruption.
    curves: list[list[float]] = (
        [
            read_history_table(runs_dir / r.run_id).val_loss.tolist()
            for r in record.trials
            if r.status == "complete" and r.run_id and (runs_dir / r.run_id).is_dir()
        ]
        if spec.prune
        else []
    )
    record.status = "running"
    store.write_record(sweep_dir, record)
    client, cluster, slots = _connect(distributed, workers, scheduler)
    writer = _Writer(sweep_dir)
    inflight: dict[
        Any, tuple[Any, int, Any, dict[str, Any], int]
    ] = {}  # future -> (trial, id, cfg, values, attempts)
    try:
        data = _Data(client)
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
                (store.STUDY_FILE, _study_json(spec, told)),
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
                values = _decode(spec.space, trial.params)
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
                if _is_worker_death(exc) and attempts <= RETRIES:
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
                if isinstance(exc, NnctlError):  # the config does not fit the data: this trial only
                    why = str(exc)
                elif _is_worker_death(exc):
                    why = "its worker died" + (" twice" if attempts > 1 else "")
                else:
                    why = f"{type(exc).__name__}: {exc}"
                row = _failed(runs_dir, record, tid, cfg, values, attempts, why)
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
        self._submit(self._write, files)

    def _write(self, files: list[tuple[str, dict]]) -> None:
        for name, obj in files:
            runs.write_json(self.sweep_dir / name, obj)

    def drain(self) -> None:
        while self.pending:
            self.pending.pop(0).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _failed(
    runs_dir: Path,
    record: SweepRecord,
    number: int,
    cfg: Any,
    values: dict[str, Any],
    attempts: int,
    message: str,
) -> TrialRow:
    run_dir = write_failed_run(runs_dir, cfg, message, record.sweep_id, number, attempts)
    return TrialRow(number, run_dir.name, "failed", values, None, attempts, message)


def _close(client: Any, cluster: Any) -> None:
    try:
        client.close(timeout=5)
    except Exception:
        pass
    if cluster is not None:
        try:
            cluster.close(timeout=10)
        except Exception:
            pass


def check_sweep(spec: SweepSpec) -> tuple[int, int]:
    """Validates every trial config the sweep file lets one enumerate (the grid, or each
    key's choices and range ends), and each against its data (``bind``: layer sizes, classes,
    task), before anything trains. Returns (configs checked, trials the sweep will run).
    Raises ConfigError or DataError."""
    from nnctl.data import load_dataset
    from nnctl.sweep.spec import check_values
    from nnctl.training import bind

    raw = base_raw(spec)
    loaded: dict[str, Any] = {}
    values_list = check_values(spec)
    for i, values in enumerate(values_list):
        label = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
        cfg = trial_config(spec, raw, values, "check", label)
        if streams(cfg):
            bind(cfg)  # reads the files' headers and labels only
            continue
        key = json.dumps([cfg.dataset, cfg.dtype, cfg.arch.loss.task], sort_keys=True, default=str)
        if key not in loaded:
            loaded[key] = load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
        bind(cfg, loaded=loaded[key])
    return len(values_list), spec.n_trials()


__all__ = [
    "SweepEvent",
    "check_sweep",
    "load_sweep",
    "open_sweep",
    "run_sweep",
    "start_sweep",
    "streams",
]
