"""Turning network outputs into labels, and scoring them."""

from __future__ import annotations

import numpy as np


def predict_labels(AL: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """AL: (1, m) sigmoid probabilities -> (1, m) int labels (1 where AL > threshold, as the
    course's ``predict``)."""
    return (AL > threshold).astype(np.int64)


def accuracy(labels: np.ndarray, Y: np.ndarray) -> float:
    """Share of examples whose label equals Y. labels, Y: (1, m)."""
    return float(np.mean(labels == Y))
