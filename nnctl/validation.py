"""Validation: a seeded, stratified hold-out from the training set, and early stopping on the
validation loss."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from nnctl.data import Dataset
from nnctl.errors import DataError
from nnctl.model import Params


def hold_out(ds: Dataset, fraction: float, rng: np.random.Generator) -> Dataset:
    """Moves round(fraction * m_c) randomly chosen examples of every class c from the training
    set into ``X_val``/``Y_val`` (stratified: each class keeps its share). Regression targets
    are held out uniformly at random. Both sets keep the original example order.
    Raises DataError when either set would be empty."""
    m = ds.X_train.shape[1]
    if ds.task == "classification":
        labels = ds.Y_train.reshape(-1)
        picked = []
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            picked.append(rng.permutation(idx)[: int(round(fraction * idx.size))])
        val = np.sort(np.concatenate(picked))
    else:
        val = np.sort(rng.permutation(m)[: int(round(fraction * m))])
    if val.size == 0 or val.size == m:
        raise DataError(
            f"validation_fraction {fraction} of {m} training examples leaves "
            f"{'no validation' if val.size == 0 else 'no training'} examples; "
            "choose a fraction that splits them"
        )
    train = np.setdiff1d(np.arange(m), val, assume_unique=True)
    return dataclasses.replace(
        ds,
        # fancy indexing keeps X's layout (column-major from the loaders: see ``batches``)
        X_train=ds.X_train[:, train],
        Y_train=ds.Y_train[:, train],
        X_val=ds.X_train[:, val],
        Y_val=ds.Y_train[:, val],
    )


@dataclass
class EarlyStopping:
    """Stops when the validation loss has not improved by more than ``min_delta`` on the best
    so far for ``patience`` epochs in a row; remembers the parameters of the best epoch."""

    patience: int
    min_delta: float = 0.0
    best_loss: float = math.inf
    best_epoch: int = -1  # epochs are counted from 0; -1: no epoch evaluated yet
    best_params: Params | None = None
    wait: int = 0

    def update(self, epoch: int, loss: float, params: Params) -> bool:
        """Records epoch ``epoch``'s validation loss; True when training should stop."""
        if loss < self.best_loss - self.min_delta:  # NaN compares False: never an improvement
            self.best_loss, self.best_epoch, self.wait = loss, epoch, 0
            self.best_params = params.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience
