"""The direct training loop (any config), the result both loops return, and the step arithmetic
(batches per epoch, total steps, learning-rate decay) they share.

``nnctl.training.fullbatch`` holds the other loop; ``nnctl.commands.train.fit`` chooses between
them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnctl.config import Config
from nnctl.core import (
    Params,
    cost_and_gradients,
    dropout_masks,
    learning_rate,
    update_running,
)
from nnctl.system import DataError, interrupt
from nnctl.training.batches import BatchGatherer
from nnctl.training.scoring import score
from nnctl.training.state import TrainState

OnIteration = Callable[[int, float], None]
"""Called after every iteration with (iteration index, cost before that iteration's update)."""

OnEpoch = Callable[[int, int, Callable[[], Params]], None]
"""Called after every epoch with (epochs done, iterations done, a function returning the
parameters at that point: to read, never to change). How the trackers see the weights while a
run trains (``nnctl.tracking``), without a copy when nobody asks."""


@dataclass
class TrainResult:
    params: Params
    costs: list[float]  # costs[i]: cost at iteration i, before its update (as the course prints)
    status: str  # "complete", "diverged" or "interrupted"
    seconds: float
    message: str = ""
    epochs: int = 0  # complete passes over the training set
    val_rows: list[tuple[int, float, float]] = field(
        default_factory=list
    )  # (iteration, loss, accuracy or nan)
    best_epoch: int | None = None  # early stopping: the epoch whose parameters were kept
    stopped_early: bool = False
    # the state after the last whole step (to checkpoint an interrupted run, or to continue a
    # finished one); None when an interruption left a step half done
    state: TrainState | None = field(default=None, repr=False)


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
    """The learning rate of ``epoch`` (from 0) under the config's schedule (``lr_schedule``, or
    ``lr_decay``: lr0 / (1 + rate * floor(epoch / interval))), else lr0 unchanged."""
    return learning_rate(cfg.learning_rate, cfg.schedule, epoch)


def epoch_order(cfg: Config, s: TrainState, m: int) -> np.ndarray:
    """The order of the m examples in epoch ``s.epoch``: from the run's shuffle generator, or
    with ``shuffle: {course: S}`` the second course's ``random_mini_batches`` (its model seeds
    numpy with S + 1 in the first epoch, one more each epoch)."""
    if cfg.shuffle is None:
        return s.shuffle_rng.permutation(m)
    return np.random.RandomState(cfg.shuffle["course"] + 1 + s.epoch).permutation(m)


def fit_direct(
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
    """The direct loop: trains for ``total_iterations`` gradient steps. X: (n_x, m), Y: (1, m)
    labels or (n_out, m) regression targets; X_val, Y_val likewise (optional). ``weights``:
    (m,) per-example weights, shuffled with the examples and sliced per mini-batch, each
    batch's loss their weighted mean (``cost_and_gradients``); ``weights_val``: (m_val,), the
    validation loss's. None: every example weighs 1.

    Each step takes the next mini-batch of the epoch's shuffled order (or the whole set, in
    order, when ``batch_size`` is unset), draws dropout masks, computes the cost and gradients
    and lets the optimizer update. After each epoch the validation loss is recorded and early
    stopping consulted. ``state`` continues a checkpointed run; ``on_checkpoint`` is called
    with the state every ``checkpoint_every`` steps, ``on_epoch`` after every epoch.

    Ctrl-C (KeyboardInterrupt) ends the loop cleanly with status "interrupted". Under the
    CLI's signal handling (``nnctl.system.interrupt``) SIGINT and SIGTERM stop at the next step
    boundary, so the result's ``state`` is whole and can be checkpointed; a KeyboardInterrupt
    that lands inside a step leaves ``state`` None. A NaN or infinite cost stops at once with
    status "diverged".
    """
    arch, dtype = cfg.arch, cfg.float_type
    bn = arch.batch_norm
    m = X.shape[1]
    n_batches = batch_count(cfg, m)
    bs = batch_size(cfg, m)
    total = total_iterations(cfg, m)
    s = state or TrainState.start(cfg)
    if hasattr(s.optimizer, "prepare"):
        s.optimizer.prepare()  # the compiled updates, where they are built
    # X may be a file streamed in blocks (nnctl.data.stream.H5Columns), which hands out the batches
    # and makes each batch's targets from its labels (nothing per example is held whole)
    streamed = n_batches > 1 and hasattr(X, "batch_source")
    if weights is not None and hasattr(X, "batch_source"):
        raise DataError("per-example weights need the training set in memory, not streamed")
    # Full batch, the batch is every example; mini-batches make their own batch's targets
    # (a softmax's one-hot columns of all examples at once would be classes x examples)
    T = arch.loss.targets(Y, cfg.layer_dims[-1], dtype) if n_batches == 1 else None

    def targets(Yb: np.ndarray) -> np.ndarray:
        return arch.loss.targets(Yb, cfg.layer_dims[-1], dtype)

    gatherer = (
        None
        if n_batches == 1
        else X.batch_source(Y, targets, bs, cfg.seed)
        if streamed
        else BatchGatherer(X, Y, bs, targets)
    )
    status, message, stopped_early = "complete", "", False
    start = time.perf_counter()
    # Overflow on the way to a diverging cost is reported once, as divergence, not as a
    # stream of numpy warnings.
    whole = True  # False while a step is half done (random draws made, update applied, ...)
    try:
        with np.errstate(over="ignore", invalid="ignore"), interrupt.deferred():
            while s.iteration < total:
                whole = False
                Wb = weights
                if n_batches == 1:
                    Xb, Tb = X, T
                elif streamed:
                    Xb, Tb = gatherer.next_batch(
                        s
                    )  # batch s.batch of epoch s.epoch; records s.stream
                else:
                    if s.batch == 0:
                        s.perm = epoch_order(cfg, s, m)
                    idx = s.perm[s.batch * bs : (s.batch + 1) * bs]
                    Xb, Tb = gatherer.gather(idx)
                    if weights is not None:
                        Wb = weights[idx]
                masks = None
                if cfg.dropout is not None:
                    masks = dropout_masks(
                        cfg.layer_dims[1:-1], cfg.dropout, Xb.shape[1], s.dropout_rng, dtype
                    )
                norm_cache, dgammas = ([], []) if bn is not None else (None, None)
                cost, dWs, dbs = cost_and_gradients(
                    s.params,
                    Xb,
                    Tb,
                    arch,
                    l2=cfg.l2,
                    masks=masks,
                    out=getattr(s.optimizer, "grads", None),
                    weights=Wb,
                    norm_cache=norm_cache,
                    dgammas=dgammas,
                )
                if not math.isfinite(cost):
                    status = "diverged"
                    message = (
                        f"the cost became {cost} at iteration {s.iteration}; "
                        f"try a smaller learning_rate than {learning_rate_at(cfg, s.epoch)}"
                    )
                    break
                if bn is None:
                    s.optimizer.step(s.params, dWs, dbs, learning_rate_at(cfg, s.epoch))
                else:
                    s.optimizer.step(s.params, dWs, dbs, learning_rate_at(cfg, s.epoch), dgammas)
                    # the running averages of the batch's statistics (batch norm at test time)
                    p = s.params
                    update_running(p.means, p.variances, norm_cache, bn.momentum)
                s.costs.append(cost)
                i = s.iteration
                s.iteration += 1
                s.batch += 1
                stop = epoch_end = False
                if s.batch == n_batches:
                    epoch_end = True
                    s.batch = 0
                    s.epoch += 1
                    if X_val is not None:
                        stop = _record_validation(s, cfg, X_val, Y_val, i, weights_val)
                whole = True
                if on_iteration is not None:
                    on_iteration(i, cost)
                if epoch_end and on_epoch is not None:
                    on_epoch(s.epoch, s.iteration, lambda: s.params)
                if stop:
                    stopped_early, st = True, s.stopper
                    message = (
                        f"early stopping after epoch {s.epoch - 1}: no validation loss improvement "
                        f"for {st.patience} epoch(s); kept epoch {st.best_epoch} "
                        f"(validation loss {st.best_loss:.6g})"
                    )
                    break
                if (
                    cfg.checkpoint_every
                    and s.iteration % cfg.checkpoint_every == 0
                    and s.iteration < total
                ):
                    if on_checkpoint is not None:
                        on_checkpoint(s)
                interrupt.check()
            whole = True  # a diverged step changed nothing
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"{interrupt.describe()} after {len(s.costs)} of {total} iterations"
    params, best_epoch = s.params, None
    if s.stopper is not None and s.stopper.best_params is not None and status == "complete":
        params, best_epoch = s.stopper.best_params, s.stopper.best_epoch
    return TrainResult(
        params,
        s.costs,
        status,
        time.perf_counter() - start,
        message,
        s.epoch,
        s.val_rows,
        best_epoch,
        stopped_early,
        s if whole else None,
    )


def _record_validation(
    s: TrainState,
    cfg: Config,
    X_val: np.ndarray,
    Y_val: np.ndarray,
    iteration: int,
    weights: np.ndarray | None = None,
) -> bool:
    """Records the validation loss (no dropout, no L2 term) and accuracy after an epoch, both
    weighted by ``weights`` (m_val,) when given; returns True when early stopping says stop.
    X_val: (n_x, m_val)."""
    val = score(s.params, cfg, X_val, Y_val, keep_outputs=False, weights=weights)
    s.val_rows.append((iteration, val.loss, math.nan if val.accuracy is None else val.accuracy))
    return s.stopper is not None and s.stopper.update(s.epoch - 1, val.loss, s.params)
