"""The training state: everything needed to continue a run bit for bit (its file is
``nnctl.runs.checkpoint``'s).

It holds the parameters, the optimizer's state, both random generators' states, the position
(iteration, epoch, batch within the epoch, and that epoch's shuffled order; for a training set
streamed from disk, ``stream``: the epoch's block order, window and position in it, see
``nnctl.data.stream``), the cost history, the validation history and the early stopping state
including the best parameters. The random generators come from ``nnctl.system.seeds`` (one
seeded stream per purpose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.config import Config
from nnctl.core import OPTIMIZERS, Params, initialize_parameters
from nnctl.system import STREAM_DROPOUT, STREAM_SHUFFLE, rng_for
from nnctl.training.early_stopping import EarlyStopping


@dataclass
class TrainState:
    params: Params
    optimizer: Any
    shuffle_rng: np.random.Generator
    dropout_rng: np.random.Generator
    iteration: int = 0  # gradient steps done
    epoch: int = 0  # complete passes done
    batch: int = 0  # batches done in the current epoch
    perm: np.ndarray | None = None  # the current epoch's example order (mini-batches only)
    costs: list[float] = field(default_factory=list)  # costs[i]: cost of step i before its update
    val_rows: list[tuple[int, float, float]] = field(
        default_factory=list
    )  # (step, loss, accuracy or nan)
    stopper: EarlyStopping | None = None
    # a streamed training set's position (nnctl.data.stream): epoch, example, window,
    # in_window, block_order
    stream: dict[str, Any] | None = None

    @classmethod
    def start(cls, cfg: Config) -> TrainState:
        params = initialize_parameters(
            cfg.layer_dims, cfg.init, cfg.seed, cfg.float_type, cfg.arch.batch_norm
        )
        stopper = None
        if cfg.early_stopping is not None:
            stopper = EarlyStopping(cfg.early_stopping["patience"], cfg.early_stopping["min_delta"])
        return cls(
            params=params,
            optimizer=OPTIMIZERS[cfg.optimizer](params, cfg),
            shuffle_rng=rng_for(cfg.seed, STREAM_SHUFFLE),
            dropout_rng=rng_for(cfg.seed, STREAM_DROPOUT),
            stopper=stopper,
        )

    @classmethod
    def from_params(
        cls,
        cfg: Config,
        params: Params,
        costs: list[float],
        val_rows: list[tuple[int, float, float]],
    ) -> TrainState:
        """The state after ``len(costs)`` full-batch steps of a run whose only state is its
        parameters (see ``needs_checkpoint``): a finished run's params.npz and history.csv, or
        the fast path's materialized parameters."""
        return cls(
            params=params,
            optimizer=OPTIMIZERS[cfg.optimizer](params, cfg),
            shuffle_rng=rng_for(cfg.seed, STREAM_SHUFFLE),
            dropout_rng=rng_for(cfg.seed, STREAM_DROPOUT),
            iteration=len(costs),
            epoch=len(costs),
            costs=list(costs),
            val_rows=list(val_rows),
        )

    def needs_checkpoint(self, cfg: Config, n_batches: int) -> bool:
        """Whether continuing needs more than the parameters and the history: an optimizer
        with state (momentum, Adam), shuffled mini-batches, dropout or early stopping."""
        return bool(
            n_batches > 1
            or self.optimizer.state()
            or self.stopper is not None
            or cfg.dropout is not None
        )
