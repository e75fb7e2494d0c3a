"""Turning network outputs into labels, and scoring them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnctl.losses import Loss


def predict_labels(AL: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """AL: (1, m) sigmoid probabilities -> (1, m) int labels (1 where AL > threshold, as the
    course's ``predict``)."""
    return (AL > threshold).astype(np.int64)


def accuracy(labels: np.ndarray, Y: np.ndarray) -> float:
    """Share of examples whose label equals Y. labels, Y: (1, m)."""
    return float(np.mean(labels == Y))


def confusion_matrix(labels: np.ndarray, Y: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) int counts: row = true class, column = predicted class. labels, Y: (1, m) or (m,)."""
    y = np.asarray(Y).reshape(-1).astype(np.int64)
    p = np.asarray(labels).reshape(-1).astype(np.int64)
    return np.bincount(y * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def precision_recall_f1(cm: np.ndarray) -> dict[str, float | None]:
    """From a confusion matrix (rows true, columns predicted): for 2 classes the scores of the
    positive class (index 1, as the course's ``y = 1`` is "cat"); for more, the macro average
    over classes. A score whose denominator is 0 (e.g. precision with no positive predictions)
    is None rather than a made-up 0."""
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    per_class = []
    for k in range(cm.shape[0]):
        p = _ratio(tp[k], predicted[k])
        r = _ratio(tp[k], actual[k])
        f = _ratio(2 * tp[k], predicted[k] + actual[k])  # = 2pr / (p + r), defined when p or r is
        per_class.append((p, r, f))
    if cm.shape[0] == 2:
        p, r, f = per_class[1]
    else:
        def macro(i: int) -> float | None:
            vals = [c[i] for c in per_class if c[i] is not None]
            return float(np.mean(vals)) if vals else None

        p, r, f = macro(0), macro(1), macro(2)
    return {"precision": p, "recall": r, "f1": f}


def log_loss(loss: "Loss", ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels. For a classifier this is its own
    cross-entropy loss, so the run's loss function computes it, from the logits ZL (no log(0)
    for saturated outputs). ZL, AL: (n_L, m), Y: (1, m)."""
    return float(loss.cost(ZL, AL, Y))
