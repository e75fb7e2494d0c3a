"""Activation functions as a table of (forward, backward) pairs, keyed by the names configs use.

Every backward function is written in terms of the activation's *output* ``A`` (as
scikit-learn's ``DERIVATIVES`` are), so the training loop only has to keep each layer's ``A``
in its cache, never ``Z``. A backward function receives ``dA`` (an array the caller owns),
may overwrite it, and returns ``dZ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """``forward(Z) -> A`` and ``backward(dA, A) -> dZ``; all arrays are (n_l, m)."""

    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]


def relu(Z: np.ndarray) -> np.ndarray:
    """max(Z, 0). Z: (n_l, m)."""
    return np.maximum(Z, 0)


def relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA where Z > 0 else 0. As in the course, the derivative at Z == 0 is taken as 0."""
    np.multiply(dA, A > 0, out=dA)
    return dA


def leaky_relu(Z: np.ndarray) -> np.ndarray:
    """Z where Z > 0 else 0.01 Z."""
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def leaky_relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA where Z > 0 else 0.01 dA (A > 0 exactly when Z > 0)."""
    return np.where(A > 0, dA, LEAKY_SLOPE * dA)


def tanh(Z: np.ndarray) -> np.ndarray:
    return np.tanh(Z)


def tanh_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA (1 - A^2)."""
    dA *= 1 - A * A
    return dA


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-Z)), exactly the course's formula.

    exp(-Z) overflows to inf for very negative Z, which gives the right limit 0; the overflow
    warning is therefore silenced rather than the formula changed (changing it would move the
    course's cost curve in the last digits).
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-Z))


def sigmoid_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA A (1 - A)."""
    dA *= A * (1 - A)
    return dA


def linear(Z: np.ndarray) -> np.ndarray:
    return Z


def linear_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    return dA


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(relu, relu_backward),
    "leaky_relu": Activation(leaky_relu, leaky_relu_backward),
    "tanh": Activation(tanh, tanh_backward),
    "sigmoid": Activation(sigmoid, sigmoid_backward),
    "linear": Activation(linear, linear_backward),
}
"""Hidden-layer activations. Output layers pair an activation with a loss (see ``losses``)."""
