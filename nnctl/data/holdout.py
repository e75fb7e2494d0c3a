"""The validation hold-out: a seeded, stratified choice of training examples set aside to
measure the validation loss, given as column indices into the training set."""

from __future__ import annotations

import dataclasses

import numpy as np

from nnctl.data.dataset import Dataset
from nnctl.system import DataError


def hold_out_indices(
    Y: np.ndarray, task: str, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val): sorted column indices into a training set with targets Y: (1, m) labels
    or (n_out, m) values. round(fraction * m_c) randomly chosen examples of every class c are
    held out (stratified: each class keeps its share); regression targets are held out
    uniformly at random. Raises DataError when either set would be empty."""
    m = Y.shape[1]
    if task == "classification":
        labels = Y.reshape(-1)
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
    return train, val


def take(ds: Dataset, train: np.ndarray, val: np.ndarray) -> Dataset:
    """The dataset with its training set split into columns ``train`` (kept for training) and
    ``val`` (the validation set), both (m_part,) indices from ``hold_out_indices``."""
    return dataclasses.replace(
        ds,
        # fancy indexing keeps X's layout (column-major from the loaders: see ``batches``)
        X_train=ds.X_train[:, train],
        Y_train=ds.Y_train[:, train],
        X_val=ds.X_train[:, val],
        Y_val=ds.Y_train[:, val],
        W_train=None if ds.W_train is None else ds.W_train[train],
        W_val=None if ds.W_train is None else ds.W_train[val],
    )


def hold_out(ds: Dataset, fraction: float, rng: np.random.Generator) -> Dataset:
    """``take`` applied to ``hold_out_indices`` of the dataset's training set: both sets keep
    the original example order. Raises DataError when either would be empty."""
    return take(ds, *hold_out_indices(ds.Y_train, ds.task, fraction, rng))
