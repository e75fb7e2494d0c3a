"""How a network's outputs read: a head turns the output layer's activations AL: (n_L, m) into
labels and class probabilities (classification) or values (regression). Each loss's entry in
``losses.LOSSES`` carries its head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.core.metrics import argmax_labels
from nnctl.system import OptionError


@dataclass(frozen=True)
class Head:
    """labels(AL, threshold) -> (1, m) int class indices, or None for a regression head.
    probabilities(AL) -> (K, m): row k is each example's probability of class k.
    threshold: whether a decision threshold means anything for this head."""

    labels: Callable[[np.ndarray, float], np.ndarray] | None
    probabilities: Callable[[np.ndarray], np.ndarray] | None
    threshold: bool = False


def sigmoid_probabilities(AL: np.ndarray) -> np.ndarray:
    """AL: (1, m), the probability of class 1 -> (2, m): [P(class 0); P(class 1)]."""
    return np.vstack([1 - AL, AL])


def softmax_labels(AL: np.ndarray, threshold: float) -> np.ndarray:
    """AL: (K, m) softmax probabilities -> (1, m) most probable classes (threshold unused)."""
    return argmax_labels(AL)


def softmax_probabilities(AL: np.ndarray) -> np.ndarray:
    """AL: (K, m) is already one probability per class and example."""
    return AL


DEFAULT_THRESHOLD = 0.5


def check_threshold(head: Head, threshold: float | None, loss: str) -> float:
    """The threshold to use: the given one, or 0.5 when None. Refuses any given threshold for a
    head where it means nothing (it would be silently ignored), even 0.5 typed explicitly."""
    if threshold is not None and not head.threshold:
        raise OptionError("threshold", f"applies to binary classifiers; this run's loss is {loss}")
    return DEFAULT_THRESHOLD if threshold is None else threshold


def interpret(
    head: Head, AL: np.ndarray, classes: list[str], threshold: float
) -> list[dict[str, Any]]:
    """One dict per example (column of AL: (n_L, m)).

    Classification: ``label`` (class index), ``class`` (its name), ``probability`` (of the
    predicted class) and ``probabilities`` ({class name: probability}). Regression: ``value``
    (a number, or a list for several outputs) and null label, class and probability.
    """
    m = AL.shape[1]
    if head.labels is None:
        values = AL.T.tolist()
        return [
            {"label": None, "class": None, "probability": None, "value": v[0] if len(v) == 1 else v}
            for v in values
        ]
    labels = head.labels(AL, threshold).reshape(-1)
    P = head.probabilities(AL)
    chosen = P[labels, np.arange(m)]
    out = []
    for j in range(m):
        out.append(
            {
                "label": int(labels[j]),
                "class": classes[labels[j]],
                "probability": float(chosen[j]),
                "probabilities": {c: float(P[k, j]) for k, c in enumerate(classes)},
            }
        )
    return out
