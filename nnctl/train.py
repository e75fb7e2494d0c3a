"""Training a run: ``train_run`` binds a config to its data, chooses the loop (``fit``), trains
and records the run directory; ``resume_run`` continues one from its checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nnctl import fullbatch, runs, threads as blas
from nnctl.binding import bind
from nnctl.config import Config, dump_config
from nnctl.data import Dataset
from nnctl.errors import RunError
from nnctl.loop import OnIteration, TrainResult, batch_count, batch_size, fit_direct, total_iterations
from nnctl.runs.checkpoint import TrainState
from nnctl.runs.summary import RunSummary, machine
from nnctl.scoring import Scores, score


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
    (``nnctl.fullbatch``) when it applies and saves work, else the direct loop
    (``nnctl.loop.fit_direct``, which documents the contract). X: (n_x, m), Y: (1, m) labels
    or (n_out, m) regression targets; X_val, Y_val likewise (optional)."""
    # The factored loop has no validation, checkpoints or resumption.
    if state is None and X_val is None and fullbatch.fast_path_applies(cfg, X):
        return fullbatch.fit_fullbatch(cfg, X, Y, on_iteration)
    return fit_direct(cfg, X, Y, on_iteration, X_val=X_val, Y_val=Y_val, state=state,
                      on_checkpoint=on_checkpoint)


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
    threads: int | None = None,
) -> RunOutcome:
    """Loads the data, trains and writes the run directory. Nothing is created on disk until
    the config and data have been validated. ``threads``: BLAS threads (None: chosen by
    ``nnctl.threads``, recorded in the summary). Raises ConfigError, DataError or RunError."""
    bound = bind(cfg)
    cfg, ds = bound.cfg, bound.dataset
    run_dir = runs.create_run_dir(runs_dir)
    summary = RunSummary.new(run_dir.name, cfg, ds, total_iterations(cfg, ds.X_train.shape[1]))
    m = ds.X_train.shape[1]
    summary.threads = blas.for_run(cfg.layer_dims, batch_size(cfg, m), threads).to_json()
    try:
        runs.save_config_text(run_dir, dump_config(cfg))
    except BaseException as exc:
        _mark_failed(run_dir, summary, exc)
        raise
    return _train_into(run_dir, cfg, ds, summary, None, on_start, on_iteration)


def resume_run(
    run_dir: Path,
    on_start: OnStart | None = None,
    on_iteration: OnIteration | None = None,
    threads: int | None = None,
) -> RunOutcome:
    """Continues an interrupted run from its last checkpoint to its configured length, in its
    own directory, with its own config and, unless ``threads`` is given, its own BLAS thread
    count. The result is bit for bit the one an uninterrupted run would have given (with the
    same thread count). Raises RunError (complete run, no checkpoint, changed data)."""
    summary = runs.read_summary(run_dir)
    if summary.status == "complete":
        raise RunError(f"{run_dir}: the run is already complete; there is nothing to resume")
    if summary.status == "diverged":
        raise RunError(
            f"{run_dir}: the run diverged ({summary.message}); resuming would diverge again "
            "at the same step, so start a new run with a smaller learning_rate"
        )
    bound = bind(runs.load_run_config(run_dir, summary))
    cfg, ds = bound.cfg, bound.dataset
    def identity(sources: list[dict]) -> list[dict]:  # the file contents, not where they are now
        return [{k: v for k, v in src.items() if k != "path"} for src in sources]

    if identity(summary.sources) != identity(ds.sources):
        raise RunError(
            f"{run_dir}: the dataset differs from the one the run started with "
            "(file contents or generator settings changed); resuming would not reproduce it"
        )
    state = TrainState.load(run_dir, cfg)
    summary.status, summary.message = "running", None
    blas_libs, cpu = machine()  # the machine may differ from the one the run started on
    choice = blas.for_run(cfg.layer_dims, batch_size(cfg, ds.X_train.shape[1]), threads, summary.threads)
    summary.resumed = [*(summary.resumed or []),
                       {"at": runs.utc_now(), "from_iteration": state.iteration, "blas": blas_libs, "cpu": cpu,
                        "threads": choice.to_json()}]
    return _train_into(run_dir, cfg, ds, summary, state, on_start, on_iteration)


def _mark_failed(run_dir: Path, summary: RunSummary, exc: BaseException) -> None:
    """Leave the directory visibly unfinished rather than looking complete."""
    summary.status, summary.finished, summary.message = "failed", runs.utc_now(), str(exc) or type(exc).__name__
    try:
        summary.write(run_dir)
    except (RunError, ValueError):  # ValueError: a value JSON cannot hold; the status matters more
        pass


def history_rows(cfg: Config, result: TrainResult, m: int) -> tuple[tuple[str, ...], list[tuple]]:
    """history.csv: one row per iteration (iteration, cost); with mini-batches also the epoch;
    with a validation set also val_loss and val_accuracy, on each epoch's last iteration."""
    header: tuple[str, ...] = ("iteration", "cost")
    n_batches = batch_count(cfg, m)
    mini = n_batches > 1
    if mini:
        header += ("epoch",)
    val = {int(i): (loss, acc) for i, loss, acc in result.val_rows}
    if val or cfg.validation_fraction > 0 or cfg.dataset.get("val"):
        header += ("val_loss", "val_accuracy")
    rows = []
    for i, cost in enumerate(result.costs):
        row: list = [i, cost]
        if mini:
            row.append(i // n_batches)
        if len(header) > len(row):
            loss, acc = val.get(i, ("", ""))
            row += [loss, "" if isinstance(acc, float) and math.isnan(acc) else acc]
        rows.append(tuple(row))
    return header, rows


def _train_into(
    run_dir: Path,
    cfg: Config,
    ds: Dataset,
    summary: RunSummary,
    state: TrainState | None,
    on_start: OnStart | None,
    on_iteration: OnIteration | None,
) -> RunOutcome:
    run_id = run_dir.name
    try:
        summary.write(run_dir)
        if on_start is not None:
            m = ds.X_train.shape[1]
            on_start(RunStart(run_id, run_dir, cfg.name, list(cfg.layer_dims), cfg.dtype, m,
                              None if ds.X_test is None else int(ds.X_test.shape[1]),
                              total_iterations(cfg, m), cfg.print_every))
        threads = (summary.resumed or [{}])[-1].get("threads") if state is not None else summary.threads
        # scoring too: its products are the largest of the run (every example at once)
        with blas.blas_threads((threads or {}).get("blas_threads")):
            result = fit(cfg, ds.X_train, ds.Y_train, on_iteration, X_val=ds.X_val, Y_val=ds.Y_val,
                         state=state, on_checkpoint=lambda s: s.save(run_dir))
            scores: dict[str, Scores] = {}
            if result.status == "complete" and result.params.all_finite():
                scores = {split: score(result.params, cfg, *ds.split(split))
                          for split, X in (("train", ds.X_train), ("val", ds.X_val), ("test", ds.X_test))
                          if X is not None}
        if result.status == "complete" and (not scores or scores["train"].finite_loss is None):
            # the cost is checked before each update, so only the last update can get here
            result.status = "diverged"
            result.message = (f"the parameters or the cost became infinite or NaN in the last update; "
                              f"try a smaller learning_rate than {cfg.learning_rate}")
        summary.status, summary.finished, summary.message = result.status, runs.utc_now(), result.message or None
        summary.iterations_done, summary.epochs_done = len(result.costs), result.epochs
        summary.seconds = round(result.seconds + (summary.seconds or 0), 4)  # + earlier segments
        summary.final_cost = result.costs[-1] if result.costs else None
        summary.scores = {"train_accuracy": None, "test_accuracy": None}
        if cfg.early_stopping is not None:
            summary.best_epoch, summary.stopped_early = result.best_epoch, result.stopped_early
        header, rows = history_rows(cfg, result, ds.X_train.shape[1])
        runs.save_history(run_dir, rows, header)
        if result.status == "complete":
            for split, split_scores in scores.items():
                # JSON has no inf/NaN: a score that overflowed is recorded as null
                summary.scores.update({f"{split}_{k}": v if math.isfinite(v) else None
                                       for k, v in split_scores.summary().items()})
            if ds.X_val is not None:
                summary.scores["val_loss"] = scores["val"].finite_loss
            runs.save_params(run_dir, result.params.to_dict())
            runs.remove_checkpoint(run_dir)
        summary.write(run_dir)
    except BaseException as exc:
        _mark_failed(run_dir, summary, exc)
        raise
    return RunOutcome(run_id, run_dir, summary, result)
