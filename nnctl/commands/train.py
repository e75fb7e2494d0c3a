"""Training a run: ``train_run`` binds a config to its data, chooses the loop (``fit``), trains
and records the run directory; ``resume_run`` continues one from its checkpoint."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnctl import runs
from nnctl.config import Config, dump_config
from nnctl.data import Dataset
from nnctl.runs import RunSummary, flatten, load_checkpoint, machine, save_checkpoint
from nnctl.system import ConfigError, RunError, interrupt
from nnctl.system import threads as blas
from nnctl.training import (
    OnIteration,
    Scores,
    TrainResult,
    TrainState,
    batch_count,
    batch_size,
    bind,
    fit_direct,
    fullbatch,
    score,
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
) -> TrainResult:
    """Trains with the loop that suits the config: the factored full-batch loop
    (``nnctl.training.fullbatch``) when it applies and saves work, else the direct loop
    (``nnctl.training.loop.fit_direct``, which documents the contract). X: (n_x, m), Y: (1, m) labels
    or (n_out, m) regression targets; X_val, Y_val likewise (optional)."""
    # The factored loop has no validation, checkpoints or resumption.
    if state is None and X_val is None and fullbatch.fast_path_applies(cfg, X):
        return fullbatch.fit_fullbatch(cfg, X, Y, on_iteration)
    return fit_direct(
        cfg, X, Y, on_iteration, X_val=X_val, Y_val=Y_val, state=state, on_checkpoint=on_checkpoint
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
) -> RunOutcome:
    """Loads the data, trains and writes the run directory. Nothing is created on disk until
    the config and data have been validated (and the memory they need found available).
    ``on_progress(done, total)``: while image files are decoded. ``threads``: BLAS threads
    (None: chosen by ``nnctl.system.threads``, recorded in the summary). Raises ConfigError,
    DataError or RunError."""
    bound = bind(cfg, on_progress)
    cfg, ds = bound.cfg, bound.dataset
    run_dir = runs.create_run_dir(runs_dir)
    lock = runs.RunLock.acquire(run_dir)  # taken before the summary says "running"
    summary = RunSummary.new(run_dir.name, cfg, ds, total_iterations(cfg, ds.X_train.shape[1]))
    summary.warnings += [*ds.warnings, *ds.notes]
    summary.owner = runs.owner_record()
    summary.threads = blas.for_run(
        cfg.layer_dims, batch_size(cfg, int(ds.X_train.shape[1])), threads
    ).to_json()
    try:
        runs.save_config_text(run_dir, dump_config(cfg))
    except BaseException as exc:
        _mark_failed(run_dir, summary, exc)
        lock.release()
        raise
    return _train_into(run_dir, cfg, ds, summary, None, on_start, on_iteration, lock)


LENGTH_KEYS = ("iterations", "epochs")


def resume_run(
    run_dir: Path,
    on_start: OnStart | None = None,
    on_iteration: OnIteration | None = None,
    *,
    more: int | None = None,
    length: dict[str, int] | None = None,
    threads: int | None = None,
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
        if summary.status == "complete" and not extend:
            raise RunError(
                f"{run_dir}: the run is already complete; there is nothing to resume "
                "(to train it further: --more N, or --set iterations=N)"
            )
        if summary.status == "diverged":
            raise RunError(
                f"{run_dir}: the run diverged ({summary.message}); resuming would diverge again "
                "at the same step, so start a new run with a smaller learning_rate"
            )
        if extend and summary.stopped_early:
            raise RunError(
                f"{run_dir}: the run stopped early ({summary.message}); a longer run would "
                "stop at the same epoch"
            )
        cfg = runs.load_run_config(run_dir, summary)
        if extend:
            cfg = _extended(cfg, run_dir, summary, more, length or {})
        bound = bind(cfg)
        cfg, ds = bound.cfg, bound.dataset

        def identity(
            sources: list[dict],
        ) -> list[dict]:  # the file contents, not where they are now
            return [
                {k: v for k, v in src.items() if k not in ("path", "sha256_cached")}
                for src in sources
            ]

        if identity(summary.sources) != identity(ds.sources):
            raise RunError(
                f"{run_dir}: the dataset differs from the one the run started with "
                "(file contents or generator settings changed); resuming would not reproduce it"
            )
        m = int(ds.X_train.shape[1])
        state = _continue_state(run_dir, cfg, summary, m)
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
                "threads": choice.to_json(),
            },
        ]
    except BaseException:
        lock.release()
        raise
    return _train_into(run_dir, cfg, ds, summary, state, on_start, on_iteration, lock)


def _extended(
    cfg: Config, run_dir: Path, summary: RunSummary, more: int | None, length: dict[str, int]
) -> Config:
    """The run's config with its new length: ``more`` added to its iterations or epochs, or
    ``length`` ({'iterations': N} or {'epochs': N}, the key the run counts in)."""
    import dataclasses

    key = "iterations" if cfg.iterations is not None else "epochs"
    current = getattr(cfg, key)
    if more is not None:
        new = current + more
    else:
        ((given, new),) = length.items()
        if given != key:
            raise ConfigError(
                f"{run_dir}: the run counts {key} ({key}: {current}); set {key}=N or use --more N"
            )
        if new <= current:
            raise ConfigError(
                f"{run_dir}: --set {key}={new}: the run has {key}: {current} already; "
                f"give more than {current}"
            )
    return dataclasses.replace(cfg, **{key: new})


def _continue_state(run_dir: Path, cfg: Config, summary: RunSummary, m: int) -> TrainState:
    """Where the run goes on from: its checkpoint, or for a finished run whose only state is
    its parameters (full-batch plain gradient descent), params.npz and history.csv."""
    if runs.has_checkpoint(run_dir) or summary.status != "complete":
        return load_checkpoint(run_dir, cfg, m)
    params = runs.load_params(run_dir, list(cfg.layer_dims), cfg.float_type)
    h = runs.files.read_history_table(run_dir)
    if len(h.costs) != summary.iterations_done:
        raise RunError(
            f"{run_dir}: {runs.HISTORY_FILE} has {len(h.costs)} steps but the run did "
            f"{summary.iterations_done}; it cannot be continued"
        )
    val_rows = [
        (int(e) - 1, float(v), float(a)) for e, v, a in zip(h.epochs, h.val_loss, h.val_accuracy)
    ]
    state = TrainState.from_params(cfg, params, h.costs.tolist(), val_rows)
    if state.needs_checkpoint(cfg, batch_count(cfg, m)):
        raise RunError(
            f"{run_dir}: has no {runs.CHECKPOINT_FILE} with its final optimizer and random "
            "state (finished by an earlier nnctl); it cannot be continued exactly"
        )
    return state


def _mark_failed(run_dir: Path, summary: RunSummary, exc: BaseException) -> None:
    """Leave the directory visibly unfinished rather than looking complete."""
    message = "out of memory" if isinstance(exc, MemoryError) else str(exc) or type(exc).__name__
    summary.status, summary.finished, summary.message = "failed", runs.utc_now(), message
    _write_quietly(run_dir, summary)


def _mark_interrupted(run_dir: Path, summary: RunSummary, result: TrainResult | None) -> None:
    """An interruption outside the loop (a second Ctrl-C while saving): the run is
    interrupted, not failed, and keeps a checkpoint of its last whole step when there is one."""
    summary.status, summary.finished = "interrupted", runs.utc_now()
    summary.message = f"{interrupt.describe()} while saving"
    if result is not None and result.state is not None:
        try:
            save_checkpoint(result.state, run_dir)
        except (RunError, KeyboardInterrupt):
            pass
    _write_quietly(run_dir, summary)


def _write_quietly(run_dir: Path, summary: RunSummary) -> None:
    try:
        summary.write(run_dir)
    except (RunError, ValueError):  # ValueError: a value JSON cannot hold; the status matters more
        pass


def history_header(cfg: Config, m: int, val: bool = False) -> tuple[str, ...]:
    """history.csv's columns: iteration, cost; epoch with mini-batches; val_loss and
    val_accuracy with a validation set."""
    header: tuple[str, ...] = ("iteration", "cost")
    if batch_count(cfg, m) > 1:
        header += ("epoch",)
    if val or cfg.validation_fraction > 0 or cfg.dataset.get("val"):
        header += ("val_loss", "val_accuracy")
    return header


def history_rows(cfg: Config, result: TrainResult, m: int) -> tuple[tuple[str, ...], list[tuple]]:
    """history.csv: one row per iteration (iteration, cost); with mini-batches also the epoch;
    with a validation set also val_loss and val_accuracy, on each epoch's last iteration."""
    return _rows(cfg, result.costs, result.val_rows, m)


def _rows(
    cfg: Config, costs: list[float], val_rows: list[tuple], m: int
) -> tuple[tuple[str, ...], list[tuple]]:
    n_batches = batch_count(cfg, m)
    mini = n_batches > 1
    val = {int(i): (loss, acc) for i, loss, acc in val_rows}
    header = history_header(cfg, m, bool(val))
    rows = []
    for i, cost in enumerate(costs):
        row: list = [i, cost]
        if mini:
            row.append(i // n_batches)
        if len(header) > len(row):
            loss, acc = val.get(i, ("", ""))
            row += [loss, "" if isinstance(acc, float) and math.isnan(acc) else acc]
        rows.append(tuple(row))
    return header, rows


def _live_history(
    writer: runs.HistoryWriter,
    header: tuple[str, ...],
    n_batches: int,
    on_iteration: OnIteration | None,
) -> OnIteration:
    """The loop's per-step callback with history.csv appended as training goes (validation
    columns stay empty until the finished run's history is written whole)."""
    add, blanks = writer.add, ("",) * (len(header) - (3 if n_batches > 1 else 2))

    def live(i: int, cost: float) -> None:
        add((i, cost, i // n_batches, *blanks) if n_batches > 1 else (i, cost, *blanks))
        if on_iteration is not None:
            on_iteration(i, cost)

    return live


def _train_into(
    run_dir: Path,
    cfg: Config,
    ds: Dataset,
    summary: RunSummary,
    state: TrainState | None,
    on_start: OnStart | None,
    on_iteration: OnIteration | None,
    lock: runs.RunLock,
) -> RunOutcome:
    run_id = run_dir.name
    m = ds.X_train.shape[1]
    result: TrainResult | None = None
    history = None
    try:
        summary.write(run_dir)
        header, before = (
            _rows(cfg, state.costs, state.val_rows, m)
            if state is not None
            else (history_header(cfg, m), [])
        )
        history = runs.HistoryWriter(run_dir, header, before)
        live = _live_history(history, header, batch_count(cfg, m), on_iteration)
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
            )
            history.close()
            with interrupt.deferred():  # a first Ctrl-C or SIGTERM now waits for the save to end
                _finish(run_dir, cfg, ds, summary, result)
    except BaseException as exc:
        if history is not None:
            history.close()
        if isinstance(exc, KeyboardInterrupt):
            _mark_interrupted(run_dir, summary, result)
        else:
            _mark_failed(run_dir, summary, exc)
        raise
    finally:
        lock.release()
    return RunOutcome(run_id, run_dir, summary, result)


def record_result(
    cfg: Config,
    ds: Dataset,
    summary: RunSummary,
    result: TrainResult,
    *,
    scored: tuple[str, ...] = ("complete",),
    earlier_seconds: float = 0.0,
) -> dict[str, Scores]:
    """Scores a finished training on each split and records it in ``summary``: status (a
    complete run whose last update overflowed is diverged), steps, time (plus
    ``earlier_seconds`` of a resumed run's earlier segments), final cost and, for a status in
    ``scored``, the scores. The one place a run (``_finish``) and a sweep's trial fill a summary
    from a TrainResult. Returns the scores by split."""
    scores: dict[str, Scores] = {}
    if result.status in scored and result.params.all_finite():
        scores = {
            split: score(result.params, cfg, *ds.split(split), keep_outputs=False)
            for split, X in (("train", ds.X_train), ("val", ds.X_val), ("test", ds.X_test))
            if X is not None
        }
    if result.status == "complete" and (not scores or scores["train"].finite_loss is None):
        # the cost is checked before each update, so only the last update can get here
        result.status = "diverged"
        result.message = (
            f"the parameters or the cost became infinite or NaN in the last update; "
            f"try a smaller learning_rate than {cfg.learning_rate}"
        )
    summary.status, summary.finished, summary.message = (
        result.status,
        runs.utc_now(),
        result.message or None,
    )
    summary.iterations_done, summary.epochs_done = len(result.costs), result.epochs
    summary.seconds = round(result.seconds + earlier_seconds, 4)
    summary.final_cost = result.costs[-1] if result.costs else None
    summary.scores = {"train_accuracy": None, "test_accuracy": None}
    if cfg.early_stopping is not None:
        summary.best_epoch, summary.stopped_early = result.best_epoch, result.stopped_early
    if result.status in scored:
        for split, split_scores in scores.items():
            # JSON has no inf/NaN: a score that overflowed is recorded as null
            summary.scores.update(
                {
                    f"{split}_{k}": v if math.isfinite(v) else None
                    for k, v in split_scores.summary().items()
                }
            )
        if ds.X_val is not None and "val" in scores:
            summary.scores["val_loss"] = scores["val"].finite_loss
    return scores


def _finish(
    run_dir: Path, cfg: Config, ds: Dataset, summary: RunSummary, result: TrainResult
) -> None:
    """Scores the result and writes the run's files: history, parameters (complete runs),
    the checkpoint to go on from (interrupted runs, and finished runs whose state is more
    than their parameters), and last the summary."""
    m = ds.X_train.shape[1]
    record_result(cfg, ds, summary, result, earlier_seconds=summary.seconds or 0)
    header, rows = history_rows(cfg, result, m)
    runs.save_history(run_dir, rows, header)
    if result.status == "interrupted" and result.state is not None:
        save_checkpoint(result.state, run_dir)  # so that --resume always works
    if result.status == "complete":
        runs.save_params(run_dir, result.params.to_dict())
        if result.state is not None and result.state.needs_checkpoint(cfg, batch_count(cfg, m)):
            save_checkpoint(result.state, run_dir)  # the final state, to continue with --more
        else:
            runs.remove_checkpoint(run_dir)
    summary.write(run_dir)
