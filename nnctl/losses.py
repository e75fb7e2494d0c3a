"""Losses as a table of (cost, gradient) pairs, each tied to the output activation it pairs with.

The gradient is taken with respect to the output layer's pre-activation ``ZL`` and is fused
with the output activation (sigmoid + cross-entropy gives ``AL - Y``): it is exact, cheaper
than ``dAL`` followed by the activation's backward, and cannot divide by a saturated ``AL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Loss:
    """One loss.

    cost(ZL, AL, Y) -> float: mean over the m examples. ZL, AL, Y: (n_L, m).
    grad(AL, Y) -> dZL: (n_L, m), the gradient of m * cost with respect to ZL
        (the 1/m is applied once, in the linear backward step, as the course does).
    output: name of the output activation this loss pairs with.
    task: "classification" (a dataset's Y holds class labels) or "regression" (real values).
    targets(Y, n_L, dtype) -> the (n_L, m) array the loss compares AL with, made from a
        dataset's Y: (1, m) labels for classification, (n_out, m) values for regression.
    """

    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    output: str
    task: str = "classification"
    # 0/1 labels as the network's dtype: int64 labels would upcast float32 gradients to float64
    targets: Callable[[np.ndarray, int, type], np.ndarray] = lambda Y, n_L, dtype: np.asarray(Y, dtype=dtype)


def binary_cross_entropy(ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray) -> float:
    """-mean(Y log AL + (1 - Y) log(1 - AL)), computed from the logits ZL.

    With AL = sigmoid(ZL) the per-example loss is softplus(ZL) - Y ZL; ``np.logaddexp(0, ZL)``
    is softplus without overflow, so logits of +-1000 give finite costs and no log(0).
    """
    m = ZL.shape[1]
    return float(np.sum(np.logaddexp(0, ZL) - Y * ZL) / m)


def binary_cross_entropy_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = AL - Y."""
    return AL - Y


def one_hot(Y: np.ndarray, K: int, dtype: type = np.float64) -> np.ndarray:
    """Labels Y: (1, m) in 0..K-1 -> (K, m) with a single 1 per column."""
    labels = np.asarray(Y).reshape(-1).astype(np.int64)
    out = np.zeros((K, labels.size), dtype=dtype)
    out[labels, np.arange(labels.size)] = 1
    return out


def categorical_cross_entropy(ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray) -> float:
    """-mean over examples of sum_k Y_k log softmax(ZL)_k. ZL, AL, Y: (K, m), Y one-hot.

    Computed as log-softmax from the logits, logsumexp(ZL) - sum_k Y_k ZL_k, with the column
    maximum shifted out of the exponent: no overflow, and no log(0) when a probability
    underflows (a confidently wrong example costs its large finite logit gap, not inf).
    """
    m = ZL.shape[1]
    top = ZL.max(axis=0, keepdims=True)
    logsumexp = top + np.log(np.sum(np.exp(ZL - top), axis=0, keepdims=True))
    return float(np.sum(logsumexp) - np.sum(Y * ZL)) / m


def categorical_cross_entropy_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = AL - Y (softmax and cross-entropy fused; Y one-hot (K, m))."""
    return AL - Y


def mean_squared_error(ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray) -> float:
    """mean((AL - Y)^2) over all n_L * m entries: exactly the MSE that evaluation reports.

    A diverging network's outputs square to inf; that is the answer (the loop stops on it),
    so numpy's overflow warning is silenced.
    """
    with np.errstate(over="ignore"):
        return float(np.mean((AL - Y) ** 2))


def mean_squared_error_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = 2 (AL - Y) / n_L: m times the gradient of the mean over m * n_L entries."""
    return (2.0 / AL.shape[0]) * (AL - Y)


LOSSES: dict[str, Loss] = {
    "binary_cross_entropy": Loss(binary_cross_entropy, binary_cross_entropy_grad, "sigmoid"),
    "categorical_cross_entropy": Loss(
        categorical_cross_entropy, categorical_cross_entropy_grad, "softmax",
        targets=lambda Y, K, dtype: one_hot(Y, K, dtype),
    ),
    "mean_squared_error": Loss(
        mean_squared_error, mean_squared_error_grad, "linear", task="regression",
    ),
}

OUTPUT_LOSS: dict[str, str] = {loss.output: name for name, loss in LOSSES.items()}
"""The default loss of each supported output activation."""
