"""The training loop, and ``train_run``: config -> dataset -> model -> loop -> run directory."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nnctl import runs
from nnctl.config import Config, dump_config
from nnctl.data import Dataset, load_dataset
from nnctl.errors import ConfigError, RunError
from nnctl.heads import DEFAULT_THRESHOLD, HEADS
from nnctl.metrics import accuracy, regression_scores
from nnctl.model import Architecture, Params, cost_and_gradients, dropout_masks, forward, predict_proba
from nnctl.runs.checkpoint import STREAM_HOLD_OUT, TrainState, rng_for
from nnctl.runs.summary import RunSummary, machine
from nnctl.validation import hold_out

OnIteration = Callable[[int, float], None]
"""Called after every iteration with (iteration index, cost before that iteration's update)."""


@dataclass
class TrainResult:
    params: Params
    costs: list[float]  # costs[i]: cost at iteration i, before its update (as the course prints)
    status: str  # "complete", "diverged" or "interrupted"
    seconds: float
    message: str = ""
    epochs: int = 0  # complete passes over the training set
    val_rows: list[tuple[int, float, float]] = field(default_factory=list)  # (iteration, loss, accuracy or nan)
    best_epoch: int | None = None  # early stopping: the epoch whose parameters were kept
    stopped_early: bool = False


def batch_size(cfg: Config, m: int) -> int:
    """Examples per mini-batch for m training examples (all of them without ``batch_size``)."""
    return m if cfg.batch_size is None else min(cfg.batch_size, m)


def batch_count(cfg: Config, m: int) -> int:
    """Mini-batches per epoch for m training examples (1: full batch)."""
    return -(-m // batch_size(cfg, m))


def total_iterations(cfg: Config, m: int) -> int:
    """Gradient steps a run makes: ``iterations``, or ``epochs`` times the batches per epoch."""
    return cfg.iterations if cfg.iterations is not None else cfg.epochs * batch_count(cfg, m)


def learning_rate_at(cfg: Config, epoch: int) -> float:
    """lr0 / (1 + rate * floor(epoch / interval)) with ``lr_decay``, else lr0 unchanged."""
    if cfg.lr_decay is None:
        return cfg.learning_rate
    return cfg.learning_rate / (1 + cfg.lr_decay["rate"] * (epoch // cfg.lr_decay["interval"]))


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
    """Trains for ``total_iterations`` gradient steps. X: (n_x, m), Y: (1, m) labels or
    (n_out, m) regression targets; X_val, Y_val likewise (optional).

    Each step takes the next mini-batch of the epoch's shuffled order (or the whole set, in
    order, when ``batch_size`` is unset), draws dropout masks, computes the cost and gradients
    and lets the optimizer update. After each epoch the validation loss is recorded and early
    stopping consulted. ``state`` continues a checkpointed run; ``on_checkpoint`` is called
    with the state every ``checkpoint_every`` steps.

    Ctrl-C (KeyboardInterrupt) ends the loop cleanly with status "interrupted" (its parameters
    may be mid-update and are not saved). A NaN or infinite cost stops at once with status
    "diverged".
    """
    from nnctl.batches import BatchGatherer
    from nnctl.fullbatch import fast_path_applies, fit_fullbatch

    if state is None and X_val is None and fast_path_applies(cfg, X):
        return fit_fullbatch(cfg, X, Y, on_iteration)
    arch = Architecture.build(cfg.activations, cfg.loss)
    dtype = np.dtype(cfg.dtype).type
    T = arch.loss.targets(Y, cfg.layer_dims[-1], dtype)
    T_val = None if Y_val is None else arch.loss.targets(Y_val, cfg.layer_dims[-1], dtype)
    m = X.shape[1]
    n_batches = batch_count(cfg, m)
    bs = batch_size(cfg, m)
    total = total_iterations(cfg, m)
    s = state or TrainState.start(cfg)
    gatherer = BatchGatherer(X, T, bs) if n_batches > 1 else None
    status, message, stopped_early = "complete", "", False
    start = time.perf_counter()
    # Overflow on the way to a diverging cost is reported once, as divergence, not as a
    # stream of numpy warnings.
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            while s.iteration < total:
                if n_batches == 1:
                    Xb, Tb = X, T
                else:
                    if s.batch == 0:
                        s.perm = s.shuffle_rng.permutation(m)
                    idx = s.perm[s.batch * bs:(s.batch + 1) * bs]
                    Xb, Tb = gatherer.gather(idx)
                masks = None
                if cfg.dropout is not None:
                    masks = dropout_masks(cfg.layer_dims[1:-1], cfg.dropout, Xb.shape[1], s.dropout_rng, dtype)
                cost, dWs, dbs = cost_and_gradients(s.params, Xb, Tb, arch, l2=cfg.l2, masks=masks)
                if not math.isfinite(cost):
                    status = "diverged"
                    message = (
                        f"the cost became {cost} at iteration {s.iteration}; "
                        f"try a smaller learning_rate than {learning_rate_at(cfg, s.epoch)}"
                    )
                    break
                s.optimizer.step(s.params, dWs, dbs, learning_rate_at(cfg, s.epoch))
                s.costs.append(cost)
                i = s.iteration
                s.iteration += 1
                s.batch += 1
                stop = False
                if s.batch == n_batches:
                    s.batch = 0
                    s.epoch += 1
                    if X_val is not None:
                        stop = _validate(s, X_val, T_val, Y_val, arch, cfg.loss, i)
                if on_iteration is not None:
                    on_iteration(i, cost)
                if stop:
                    stopped_early, st = True, s.stopper
                    message = (f"early stopping after epoch {s.epoch - 1}: no validation loss improvement "
                               f"for {st.patience} epoch(s); kept epoch {st.best_epoch} "
                               f"(validation loss {st.best_loss:.6g})")
                    break
                if cfg.checkpoint_every and s.iteration % cfg.checkpoint_every == 0 and s.iteration < total:
                    if on_checkpoint is not None:
                        on_checkpoint(s)
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"interrupted after {len(s.costs)} of {total} iterations"
    params, best_epoch = s.params, None
    if s.stopper is not None and s.stopper.best_params is not None and status == "complete":
        params, best_epoch = s.stopper.best_params, s.stopper.best_epoch
    return TrainResult(params, s.costs, status, time.perf_counter() - start, message, s.epoch,
                       s.val_rows, best_epoch, stopped_early)


def _validate(s: TrainState, X_val: np.ndarray, T_val: np.ndarray, Y_val: np.ndarray,
              arch: Architecture, loss: str, iteration: int) -> bool:
    """Records the validation loss (no dropout, no L2 term) and accuracy after an epoch;
    returns True when early stopping says stop."""
    AL, ZL, _ = forward(s.params, X_val, arch)
    val_loss = arch.loss.cost(ZL, AL, T_val)
    labels = HEADS[loss].labels
    acc = accuracy(labels(AL, DEFAULT_THRESHOLD), Y_val) if labels is not None else math.nan
    s.val_rows.append((iteration, val_loss, acc))
    return s.stopper is not None and s.stopper.update(s.epoch - 1, val_loss, s.params)


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    summary: RunSummary
    result: TrainResult = field(repr=False)

    @property
    def status(self) -> str:
        return self.summary.status


def split_accuracy(params: Params, cfg: Config, X: np.ndarray, Y: np.ndarray) -> float:
    """Accuracy of a classification network on one split. Y: (1, m) labels."""
    arch = Architecture.build(cfg.activations, cfg.loss)
    return accuracy(HEADS[cfg.loss].labels(predict_proba(params, X, arch), DEFAULT_THRESHOLD), Y)


def split_scores(params: Params, cfg: Config, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """{'accuracy': ...} for a classifier, {'mse', 'mae', 'r2'} for a regression network."""
    if HEADS[cfg.loss].labels is not None:
        return {"accuracy": split_accuracy(params, cfg, X, Y)}
    arch = Architecture.build(cfg.activations, cfg.loss)
    return regression_scores(predict_proba(params, X, arch), Y)


def split_loss(params: Params, cfg: Config, X: np.ndarray, Y: np.ndarray) -> float | None:
    """The loss (no L2 term, no dropout) on one split; None if it is not finite."""
    arch = Architecture.build(cfg.activations, cfg.loss)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the answer None, not a warning
        AL, ZL, _ = forward(params, X, arch)
        loss = arch.loss.cost(ZL, AL, arch.loss.targets(Y, cfg.layer_dims[-1], np.dtype(cfg.dtype).type))
    return loss if math.isfinite(loss) else None


def _check_labels(cfg: Config, ds: Dataset) -> None:
    """The output layer and loss must fit the dataset's targets."""
    from nnctl.losses import LOSSES

    n_out, task = cfg.layer_dims[-1], LOSSES[cfg.loss].task
    if task == "regression" and ds.task != "regression":
        raise ConfigError(
            f"{cfg.source}: loss {cfg.loss} (linear output) needs real-valued targets, but the "
            f"dataset has {len(ds.classes)} classes ({', '.join(ds.classes)}); use a softmax "
            "output for K classes or a sigmoid output for 2"
        )
    if task != "regression" and ds.task == "regression":
        raise ConfigError(
            f"{cfg.source}: the dataset has real-valued targets (regression) but the output "
            f"activation is {cfg.activations[-1]}; use a linear output (loss mean_squared_error)"
        )
    if ds.task == "regression":
        if n_out != ds.Y_train.shape[0]:
            raise ConfigError(
                f"{cfg.source}: layer_dims: the last layer has {n_out} unit(s) but the dataset has "
                f"{ds.Y_train.shape[0]} target value(s) per example; use {ds.Y_train.shape[0]}"
            )
    elif cfg.activations[-1] == "sigmoid" and len(ds.classes) != 2:
        raise ConfigError(
            f"{cfg.source}: a sigmoid output does binary classification, but the dataset has "
            f"{len(ds.classes)} classes ({', '.join(ds.classes)}); use a softmax output with "
            f"{len(ds.classes)} units"
        )
    elif cfg.activations[-1] == "softmax" and n_out != len(ds.classes):
        raise ConfigError(
            f"{cfg.source}: layer_dims: a softmax output has one unit per class, but the last "
            f"layer has {n_out} and the dataset has {len(ds.classes)} classes "
            f"({', '.join(ds.classes)}); use {len(ds.classes)}"
        )


def bind_dataset(cfg: Config) -> tuple[Config, Dataset]:
    """Loads the config's data and checks the config against it (``layer_dims[0]``, classes,
    task), then holds out the validation set: the config and data exactly as training uses and
    saves them. Raises ConfigError or DataError."""
    from nnctl.losses import LOSSES

    ds = load_dataset(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path)
    cfg = cfg.with_input_dim(ds.n_features)
    _check_labels(cfg, ds)
    if cfg.validation_fraction > 0:
        ds = hold_out(ds, cfg.validation_fraction, rng_for(cfg.seed, STREAM_HOLD_OUT))
    return cfg, ds


def train_run(
    cfg: Config,
    runs_dir: Path,
    on_start: Callable[[str, Path, Config, Dataset], None] | None = None,
    on_iteration: OnIteration | None = None,
) -> RunOutcome:
    """Loads the data, trains and writes the run directory. Nothing is created on disk until
    the config and data have been validated. Raises ConfigError, DataError or RunError."""
    cfg, ds = bind_dataset(cfg)
    run_dir = runs.create_run_dir(runs_dir)
    summary = RunSummary.new(run_dir.name, cfg, ds, total_iterations(cfg, ds.X_train.shape[1]))
    try:
        runs.save_config_text(run_dir, dump_config(cfg))
    except BaseException as exc:
        _mark_failed(run_dir, summary, exc)
        raise
    return _train_into(run_dir, cfg, ds, summary, None, on_start, on_iteration)


def resume_run(
    run_dir: Path,
    on_start: Callable[[str, Path, Config, Dataset], None] | None = None,
    on_iteration: OnIteration | None = None,
) -> RunOutcome:
    """Continues an interrupted run from its last checkpoint to its configured length, in its
    own directory, with its own config. The result is bit for bit the one an uninterrupted
    run would have given. Raises RunError (complete run, no checkpoint, changed data)."""
    summary = runs.read_summary(run_dir)
    if summary.status == "complete":
        raise RunError(f"{run_dir}: the run is already complete; there is nothing to resume")
    if summary.status == "diverged":
        raise RunError(
            f"{run_dir}: the run diverged ({summary.message}); resuming would diverge again "
            "at the same step, so start a new run with a smaller learning_rate"
        )
    cfg, ds = bind_dataset(runs.load_run_config(run_dir, summary))
    def identity(sources: list[dict]) -> list[dict]:  # the file contents, not where they are now
        return [{k: v for k, v in src.items() if k != "path"} for src in sources]

    if identity(summary.sources) != identity(ds.sources):
        raise RunError(
            f"{run_dir}: the dataset differs from the one the run started with "
            "(file contents or generator settings changed); resuming would not reproduce it"
        )
    state = TrainState.load(run_dir, cfg)
    summary.status, summary.message = "running", None
    blas, cpu = machine()  # the machine may differ from the one the run started on
    summary.resumed = [*(summary.resumed or []),
                       {"at": runs.utc_now(), "from_iteration": state.iteration, "blas": blas, "cpu": cpu}]
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
    on_start: Callable[[str, Path, Config, Dataset], None] | None,
    on_iteration: OnIteration | None,
) -> RunOutcome:
    run_id = run_dir.name
    try:
        summary.write(run_dir)
        if on_start is not None:
            on_start(run_id, run_dir, cfg, ds)
        result = fit(cfg, ds.X_train, ds.Y_train, on_iteration, X_val=ds.X_val, Y_val=ds.Y_val,
                     state=state, on_checkpoint=lambda s: s.save(run_dir))
        if result.status == "complete" and (
            not result.params.all_finite() or split_loss(result.params, cfg, ds.X_train, ds.Y_train) is None
        ):
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
            for split in ("train", "val", "test"):
                X = {"train": ds.X_train, "val": ds.X_val, "test": ds.X_test}[split]
                if X is not None:
                    scores = split_scores(result.params, cfg, X, ds.split(split)[1])
                    # JSON has no inf/NaN: a score that overflowed is recorded as null
                    summary.scores.update({f"{split}_{k}": v if math.isfinite(v) else None for k, v in scores.items()})
            if ds.X_val is not None:
                summary.scores["val_loss"] = split_loss(result.params, cfg, ds.X_val, ds.Y_val)
            runs.save_params(run_dir, result.params.to_dict())
            runs.remove_checkpoint(run_dir)
        summary.write(run_dir)
    except BaseException as exc:
        _mark_failed(run_dir, summary, exc)
        raise
    return RunOutcome(run_id, run_dir, summary, result)
