"""Binding a config to its data: the one place that loads a config's dataset, fills in
``layer_dims[0]``, checks the output layer against the targets and holds out the validation
set. ``train``, ``evaluate``, ``gradcheck`` and ``config show/check`` all call ``bind``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnctl.config import Config
from nnctl.data import Dataset, load_dataset
from nnctl.errors import ConfigError
from nnctl.holdout import hold_out_indices, take
from nnctl.losses import LOSSES
from nnctl.state import STREAM_HOLD_OUT, rng_for


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
    ds = load_dataset(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path)
    cfg = cfg.with_input_dim(ds.n_features)
    check_targets(cfg, ds)
    train_idx, val_idx = np.arange(ds.X_train.shape[1]), None
    if cfg.validation_fraction > 0:
        train_idx, val_idx = hold_out_indices(ds.Y_train, ds.task, cfg.validation_fraction,
                                              rng_for(cfg.seed, STREAM_HOLD_OUT))
        ds = take(ds, train_idx, val_idx)
    return Bound(cfg, ds, train_idx, val_idx)


def check_targets(cfg: Config, ds: Dataset) -> None:
    """The output layer and loss must fit the dataset's targets. Raises ConfigError."""
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
