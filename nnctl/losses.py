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
    """

    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    output: str


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


LOSSES: dict[str, Loss] = {
    "binary_cross_entropy": Loss(binary_cross_entropy, binary_cross_entropy_grad, "sigmoid"),
}

OUTPUT_LOSS: dict[str, str] = {loss.output: name for name, loss in LOSSES.items()}
"""The default loss of each supported output activation."""
