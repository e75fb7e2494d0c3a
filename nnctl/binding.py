"""Binding a config to its data: the one place that loads a config's dataset, fills in
``layer_dims[0]``, checks the output layer against the targets and holds out the validation
set. ``train``, ``evaluate``, ``gradcheck`` and ``config show/check`` all call ``bind``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnctl.config import Config
from nnctl.data import Dataset, load_dataset
from nnctl.errors import ConfigError, DataError
from nnctl.holdout import hold_out_indices, take
from nnctl.losses import LOSSES
from nnctl.seeds import STREAM_HOLD_OUT, rng_for
from nnctl.stream import load_streamed, streaming_plan


@dataclass(frozen=True)
class Bound:
    """A config bound to its data.

    cfg: the config with ``layer_dims[0]`` filled in from the data.
    dataset: the data as training uses it: X_train: (n_x, m_train) the examples trained on,
        X_val: (n_x, m_val) the validation set (held out of the training file, or its own file).
    train_idx: (m_train,) the training file's column of each training example.
    val_idx: (m_val,) the training file's columns held out for validation; None when nothing
        was held out.
    """

    cfg: Config
    dataset: Dataset
    train_idx: np.ndarray
    val_idx: np.ndarray | None


def bind(cfg: Config) -> Bound:
    """Loads the config's data, checks the config against it (``layer_dims[0]``, classes,
    task) and holds out the validation set with the config's seed: the config and data exactly
    as training uses and saves them. Raises ConfigError or DataError."""
    plan = streaming_plan(cfg)  # data files larger than memory stay on disk
    if plan.stream:
        ds = load_streamed(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path)
        ds.notes.extend(plan.notes)
    else:
        try:
            ds = load_dataset(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path)
        except MemoryError:
            if "train" not in cfg.dataset:
                raise
            raise DataError(f"{cfg.dataset['train']}: out of memory loading the data whole; stream it from "
                            "disk in mini-batches with dataset.stream: true and a batch_size") from None
    cfg = cfg.with_input_dim(ds.n_features)
    check_targets(cfg, ds)
    train_idx, val_idx = np.arange(ds.X_train.shape[1]), None
    if cfg.validation_fraction > 0:
        train_idx, val_idx = hold_out_indices(ds.Y_train, ds.task, cfg.validation_fraction,
                                              rng_for(cfg.seed, STREAM_HOLD_OUT))
        ds = take(ds, train_idx, val_idx)
    return Bound(cfg, ds, train_idx, val_idx)


def check_targets(cfg: Config, ds: Dataset) -> None:
    """The output layer and loss must fit the dataset's targets: the loss's task (class labels
    or real values) and its output-unit rule (``Loss.units``). Raises ConfigError."""
    loss = LOSSES[cfg.loss]
    if loss.task == "regression" and ds.task != "regression":
        raise ConfigError(
            f"{cfg.source}: loss {cfg.loss} ({loss.output} output) needs real-valued targets, but the "
            f"dataset has {len(ds.classes)} classes ({', '.join(ds.classes)}); use a softmax "
            "output for K classes or a sigmoid output for 2"
        )
    if loss.task != "regression" and ds.task == "regression":
        name = next(n for n, other in LOSSES.items() if other.task == "regression")
        raise ConfigError(
            f"{cfg.source}: the dataset has real-valued targets (regression) but the output "
            f"activation is {cfg.activations[-1]}; use a {LOSSES[name].output} output (loss {name})"
        )
    problem = loss.units(cfg.layer_dims[-1], ds)
    if problem is not None:
        raise ConfigError(f"{cfg.source}: {problem}")
