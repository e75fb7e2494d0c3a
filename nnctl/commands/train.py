"""Training a run: ``train_run`` binds a config to its data, chooses the loop (``fit``), trains
and records the run directory; ``resume_run`` continues one from its checkpoint (what it goes
on from: ``resuming``). The run's files are written by ``nnctl.runs`` (``HistoryWriter`` while
it trains, ``write_run`` when it ends); its summary is filled by ``recording.record_result``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.commands.recording import record_result
from nnctl.commands.resuming import (
    check_resumable,
    check_same_data,
    continue_state,
    extended,
    run_length,
)
from nnctl.config import Config, dump_config
from nnctl.core import Params, cost_and_gradients
from nnctl.data import Dataset
from nnctl.runs import RunSummary, cpu_features, flatten, machine, save_checkpoint
from nnctl.system import NnctlError, RunError, RunFailed, interrupt
from nnctl.system import threads as blas
from nnctl.training import (
    OnEpoch,
    OnIteration,
    TrainResult,
    TrainState,
    batch_count,
    batch_size,
    bind,
    fit_direct,
    fullbatch,
    total_iterations,
)


@dataclass(frozen=True)
class RunStart:
    """What a run's display needs when training starts (``on_start``)."""

    run_id: str
    run_dir: Path
    name: str
    layer_dims: list[int]
    dtype: str
    n_train: int  # examples trained on
    n_test: int | None  # None: no test set
    total_iterations: int  # gradient steps the run makes in all
    print_every: int
    warnings: tuple[str, ...] = ()  # about the data (skipped files, feature scales), one line each
    notes: tuple[str, ...] = ()  # notices about the data (e.g. streamed from disk)


OnStart = Callable[[RunStart], None]

GRADIENT_EXAMPLES = 4096
"""The training examples ``EpochEnd.gradients`` computes its gradient over (the first ones): a
histogram's shape, at a bounded cost however large the data."""


@dataclass(frozen=True)
class EpochEnd:
    """A training at the end of an epoch, as the trackers see it (``on_epoch``): epochs and
    steps done, and on request the parameters and the gradient of the training cost there."""

    epoch: int  # epochs done
    iteration: int  # gradient steps done
    _params: Callable[[], Params] = field(repr=False)
    _gradients: Callable[[Params], tuple[list[np.ndarray], list[np.ndarray]] | None] = field(
        repr=False
    )

    def params(self) -> Params:
        """The parameters now (the training's own arrays: read them, never change them)."""
        return self._params()

    def gradients(self) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """(dWs, dbs) of the training cost (its L2 term included, no dropout) at these
        parameters over the first GRADIENT_EXAMPLES training examples; None for data streamed
        from disk."""
        return self._gradients(self.params())


OnEpochEnd = Callable[[EpochEnd], None]


def _epoch_hook(cfg: Config, ds: Dataset, on_epoch: OnEpochEnd | None) -> OnEpoch | None:
    """The training loop's ``on_epoch`` for ``on_epoch``: an ``EpochEnd`` per epoch."""
    if on_epoch is None:
        return None
    X = ds.X_train
    if hasattr(X, "batch_source"):  # streamed: no in-memory slice to take a gradient over
        return lambda e, i, p: on_epoch(EpochEnd(e, i, p, lambda _: None))
    Xg = X[:, :GRADIENT_EXAMPLES]
    Tg = cfg.arch.loss.targets(
        ds.Y_train[:, :GRADIENT_EXAMPLES], cfg.layer_dims[-1], cfg.float_type
    )

    def gradients(params: Params) -> tuple[list[np.ndarray], list[np.ndarray]]:
        with np.errstate(over="ignore", invalid="ignore"):
            _, dWs, dbs = cost_and_gradients(params, Xg, Tg, cfg.arch, l2=cfg.l2)
        return dWs, dbs

    return lambda e, i, p: on_epoch(EpochEnd(e, i, p, gradients))


def fit(
    cfg: Config,
    X: np.ndarray,
    Y: np.ndarray,
    on_iteration: OnIteration | None = None,
    *,
    X_val: np.ndarray | None = None,
    Y_val: np.ndarray | None = None,
    state: TrainState | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    weights: np.ndarray | None = None,
    weights_val: np.ndarray | None = None,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Trains with the loop that suits the config: the factored full-batch loop
    (``nnctl.training.fullbatch``) when it applies and saves work, else the direct loop
    (``nnctl.training.loop.fit_direct``, which documents the contract). X: (n_x, m), Y: (1, m)
    labels or (n_out, m) regression targets; X_val, Y_val likewise (optional); weights: (m,)
    and weights_val: (m_val,) per-example weights (None: all 1; ``Dataset.W_train``, ``W_val``)."""
    # The factored loop has no validation, checkpoints or resumption.
    if state is None and X_val is None and fullbatch.fast_path_applies(cfg, X):
        return fullbatch.fit_fullbatch(cfg, X, Y, on_iteration, weights, on_epoch)
    return fit_direct(
        cfg,
        X,
        Y,
        on_iteration,
        X_val=X_val,
        Y_val=Y_val,
        state=state,
        on_checkpoint=on_checkpoint,
        weights=weights,
        weights_val=weights_val,
        on_epoch=on_epoch,
    )


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    summary: RunSummary
    result: TrainResult = field(repr=False)

    @property
    def status(self) -> str:
        return self.summary.status


def train_run(
    cfg: Config,
    runs_dir: Path,
    on_start: OnStart | None = None,
    on_iteration: OnIteration | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    threads: int | None = None,
    on_epoch: OnEpochEnd | None = None,
    *,
    prepare: Callable[[Dataset], Dataset] | None = None,
    extra: dict[str, Any] | None = None,
) -> RunOutcome:
    """Loads the data, trains and writes the run directory. Nothing is created on disk until
    the config and data have been validated (and the memory they need found available).
    ``on_progress(done, total)``: while image files are decoded. ``on_epoch``: after every
    epoch (the trackers' histograms, ``nnctl.tracking``). ``threads``: BLAS threads
    (None: chosen by ``nnctl.system.threads``, recorded in the summary). ``prepare``: applied
    to the bound (held out, normalized) dataset before anything is written, e.g. a learning
    curve's share of the training split. ``extra``: keys added to the summary (a link to a
    parent run). Raises ConfigError, DataError or RunError."""
    bound = bind(cfg, on_progress)
    cfg, ds = bound.cfg, bound.dataset
    if prepare is not None:
        ds = prepare(ds)
    run_dir = runs.create_run_dir(runs_dir)
    lock = runs.RunLock.acquire(run_dir)  # taken before the summary says "running"
    summary = RunSummary.new(run_dir.name, cfg, ds, total_iterations(cfg, ds.X_train.shape[1]))
    summary.warnings += [*ds.warnings, *ds.notes]
    summary.extra.update(extra or {})
    summary.owner = runs.owner_record()
    summary.threads = blas.for_run(
        cfg.layer_dims, batch_size(cfg, int(ds.X_train.shape[1])), threads
    ).to_json()
    try:
        runs.save_config_text(run_dir, dump_config(cfg))
    except BaseException as exc:
        runs.mark_failed(run_dir, summary, exc)
        lock.release()
        _raise_failed(run_dir, exc)
        raise
    return _train_into(run_dir, cfg, ds, summary, None, on_start, on_iteration, lock, on_epoch)


def resume_run(
    run_dir: Path,
    on_start: OnStart | None = None,
    on_iteration: OnIteration | None = None,
    *,
    more: int | None = None,
    length: dict[str, int] | None = None,
    threads: int | None = None,
    on_epoch: OnEpochEnd | None = None,
) -> RunOutcome:
    """Continues a run in its own directory, with its own config: an interrupted (or stale)
    run from its last checkpoint to its configured length, or, given ``more`` (steps, or
    epochs for a run that counts epochs) or ``length`` ({'iterations': N} or {'epochs': N}),
    any run that is not diverged to a new length. The result is bit for bit the one a run
    asked for that length from the start gives (to rounding, for a run the full-batch fast
    path trained), with the run's own BLAS thread count unless ``threads`` is given. Holds the
    run's lock throughout: a second resume of the same run is
    refused. Raises RunError (complete run, no checkpoint, changed data, locked) or ConfigError."""
    summary = runs.read_summary(run_dir)
    lock = runs.RunLock.acquire(run_dir, summary.owner)
    try:
        summary = runs.read_summary(run_dir)  # as it is now that nobody else can change it
        extend = more is not None or bool(length)
        check_resumable(run_dir, summary, extend)
        cfg = runs.load_run_config(run_dir, summary)
        before = None
        if extend:
            before = run_length(cfg)
            cfg = extended(cfg, run_dir, summary, more, length or {})
        bound = bind(cfg)
        cfg, ds = bound.cfg, bound.dataset
        check_same_data(run_dir, summary, ds)
        m = int(ds.X_train.shape[1])
        state = continue_state(run_dir, cfg, summary, m)
        if state.iteration >= total_iterations(cfg, m) and extend:
            raise RunError(
                f"{run_dir}: the run has done {state.iteration} steps already; ask for more "
                f"than its {summary.iterations_done or state.iteration}"
            )
        if extend:
            runs.save_config_text(run_dir, dump_config(cfg))
            summary.iterations = total_iterations(cfg, m)
            summary.config = flatten(cfg.to_dict())
        summary.status, summary.message, summary.finished = "running", None, None
        summary.owner = runs.owner_record()
        blas_libs, cpu = machine()  # the machine may differ from the one the run started on
        choice = blas.for_run(cfg.layer_dims, batch_size(cfg, m), threads, summary.threads)
        summary.resumed = [
            *(summary.resumed or []),
            {
                "at": runs.utc_now(),
                "from_iteration": state.iteration,
                "blas": blas_libs,
                "cpu": cpu,
                "cpu_features": cpu_features(),
                "threads": choice.to_json(),
                # the length it had (--more, --set iterations=N): `nnctl verify` replays each
                # segment at the length it trained with
                **({"extended_from": before} if before is not None else {}),
            },
        ]
    except BaseException:
        lock.release()
        raise
    return _train_into(run_dir, cfg, ds, summary, state, on_start, on_iteration, lock, on_epoch)


def _train_into(
    run_dir: Path,
    cfg: Config,
    ds: Dataset,
    summary: RunSummary,
    state: TrainState | None,
    on_start: OnStart | None,
    on_iteration: OnIteration | None,
    lock: runs.RunLock,
    on_epoch: OnEpochEnd | None = None,
) -> RunOutcome:
    run_id = run_dir.name
    m = ds.X_train.shape[1]
    result: TrainResult | None = None
    history = None
    try:
        summary.write(run_dir)
        header, before = (
            runs.history_rows(cfg, state, m)
            if state is not None
            else (runs.history_header(cfg, m), [])
        )
        history = runs.HistoryWriter(run_dir, header, before)
        live = runs.live_history(history, header, batch_count(cfg, m), on_iteration, cfg)
        if on_start is not None:
            on_start(
                RunStart(
                    run_id,
                    run_dir,
                    cfg.name,
                    list(cfg.layer_dims),
                    cfg.dtype,
                    m,
                    None if ds.X_test is None else int(ds.X_test.shape[1]),
                    total_iterations(cfg, m),
                    cfg.print_every,
                    tuple(ds.warnings),
                    tuple(ds.notes),
                )
            )
        threads = (
            (summary.resumed or [{}])[-1].get("threads") if state is not None else summary.threads
        )
        # scoring too (in _finish): its products are the largest of the run (every example at once)
        with blas.blas_threads((threads or {}).get("blas_threads")):
            result = fit(
                cfg,
                ds.X_train,
                ds.Y_train,
                live,
                X_val=ds.X_val,
                Y_val=ds.Y_val,
                state=state,
                on_checkpoint=lambda s: save_checkpoint(s, run_dir),
                weights=ds.W_train,
                weights_val=ds.W_val,
                on_epoch=_epoch_hook(cfg, ds, on_epoch),
            )
            history.close()
            with interrupt.deferred():  # a first Ctrl-C or SIGTERM now waits for the save to end
                _finish(run_dir, cfg, ds, summary, result)
    except BaseException as exc:
        if history is not None:
            history.close()
        if isinstance(exc, KeyboardInterrupt):
            runs.mark_interrupted(run_dir, summary, None if result is None else result.state)
        else:
            runs.mark_failed(run_dir, summary, exc)
            _raise_failed(run_dir, exc)
        raise
    finally:
        lock.release()
    return RunOutcome(run_id, run_dir, summary, result)


def _raise_failed(run_dir: Path, exc: BaseException) -> None:
    """A library error or running out of memory once the run directory exists (kept, marked
    failed) is RunFailed: exit 1, not the 2 that promises nothing was written. Anything else
    (a Ctrl-C, a bug) goes on as it is."""
    if isinstance(exc, RunFailed) or not isinstance(exc, (NnctlError, MemoryError)):
        return
    reason = (
        "out of memory (more than the estimate made before training)"
        if isinstance(exc, MemoryError)
        else str(exc)
    )
    raise RunFailed(f"{reason} (run {run_dir.name} is kept, marked failed)", run_dir) from exc


def _finish(
    run_dir: Path, cfg: Config, ds: Dataset, summary: RunSummary, result: TrainResult
) -> None:
    """Scores the result and writes the run's files: history, parameters (complete runs),
    the checkpoint to go on from (interrupted runs, and finished runs whose state is more
    than their parameters), and last the summary."""
    m = ds.X_train.shape[1]
    record_result(cfg, ds, summary, result, earlier_seconds=summary.seconds or 0)
    complete = result.status == "complete"
    state = result.state
    if result.status == "interrupted":
        checkpoint = state  # so that --resume always works
    elif complete and state is not None and state.needs_checkpoint(cfg, batch_count(cfg, m)):
        checkpoint = state  # the final state, to continue with --more
    else:
        checkpoint = None
    runs.write_run(
        run_dir,
        summary,
        history=runs.history_rows(cfg, result, m),
        params=result.params.to_dict() if complete else None,
        checkpoint=checkpoint,
        drop_checkpoint=complete and checkpoint is None,  # its parameters are all it needs
    )
