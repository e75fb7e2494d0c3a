"""Scoring a network on labelled examples: the one path that a run's summary (``train``), the
per-epoch validation rows (``loop``) and ``evaluate`` all use, so their numbers agree to the
last digit by construction.

One forward pass gives the output layer's activations and logits; the loss (no L2 term, no
dropout) is computed from them by the run's own loss function; a classifier's head turns them
into labels (accuracy, confusion matrix), a regression network's outputs are scored directly
(MSE, MAE, R²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.config import Config
from nnctl.heads import DEFAULT_THRESHOLD
from nnctl.losses import LOSSES
from nnctl.metrics import accuracy, confusion_matrix, regression_scores
from nnctl.model import Params, forward


@dataclass
class Scores:
    """A network's scores on m examples.

    loss: the run's loss on them (may be inf or NaN for a diverged network).
    AL: (n_L, m) the output layer's activations; ZL: (n_L, m) its logits.
    labels: (1, m) predicted classes (classifiers; None for regression).
    accuracy: share of labels equal to Y (classifiers; None for regression).
    confusion: (K, K) counts, rows true, columns predicted (when ``n_classes`` was given).
    regression: {'mse', 'mae', 'r2'} over all outputs (regression; None for classifiers).
    """

    loss: float
    AL: np.ndarray = field(repr=False)
    ZL: np.ndarray = field(repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    accuracy: float | None = None
    confusion: np.ndarray | None = None
    regression: dict[str, float] | None = None

    @property
    def finite_loss(self) -> float | None:
        """The loss, or None when it is not finite (JSON has no inf or NaN)."""
        return self.loss if math.isfinite(self.loss) else None

    def summary(self) -> dict[str, float]:
        """What a run's summary records for one split: {'accuracy'} for a classifier,
        {'mse', 'mae', 'r2'} for a regression network."""
        if self.regression is not None:
            return dict(self.regression)
        return {"accuracy": self.accuracy}  # type: ignore[dict-item]


def score(params: Params, cfg: Config, X: np.ndarray, Y: np.ndarray, *,
          threshold: float = DEFAULT_THRESHOLD, n_classes: int | None = None) -> Scores:
    """Scores ``params`` of the network ``cfg`` describes on X: (n_x, m) against Y: (1, m)
    labels or (n_out, m) regression targets. ``threshold``: a binary head's decision threshold;
    ``n_classes``: K, to also count the confusion matrix."""
    arch = cfg.arch
    # overflow in a diverged network is an inf or NaN loss, reported as such, not a warning
    with np.errstate(over="ignore", invalid="ignore"):
        AL, ZL = _forward_blocks(params, X, arch) if hasattr(X, "blocks") else forward(params, X, arch)[:2]
        loss = arch.loss.cost(ZL, AL, arch.loss.targets(Y, cfg.layer_dims[-1], cfg.float_type))
        head = LOSSES[cfg.loss].head
        if head.labels is None:
            return Scores(loss, AL, ZL, regression=regression_scores(AL, Y))
        labels = head.labels(AL, threshold)
        cm = None if n_classes is None else confusion_matrix(labels, Y, n_classes)
        return Scores(loss, AL, ZL, labels, accuracy(labels, Y), cm)


def _forward_blocks(params: Params, X: Any, arch: Any) -> tuple[np.ndarray, np.ndarray]:
    """(AL, ZL): (n_L, m) of a streamed X (``nnctl.stream.H5Columns``), computed one block of
    columns at a time, so the examples are never in memory whole."""
    n_L, m = params.bs[-1].shape[0], X.shape[1]
    AL = np.empty((n_L, m), dtype=X.dtype)
    ZL = np.empty((n_L, m), dtype=X.dtype)
    for Xb, cols in X.blocks():
        AL[:, cols], ZL[:, cols], _ = forward(params, Xb, arch)
    return AL, ZL
