"""Activation functions as a table of (forward, backward) pairs, keyed by the names configs use.

Every backward function is written in terms of the activation's *output* ``A`` (as
scikit-learn's ``DERIVATIVES`` are), so the training loop only has to keep each layer's ``A``
in its cache, never ``Z``. A backward function receives ``dA`` (an array the caller owns),
may overwrite it, and returns ``dZ``.

A hidden layer's ``Z`` is read by nothing but its activation, so an activation may also offer
``forward_inplace(Z) -> A``: the same values as ``forward``, by the same operations, written
over ``Z`` (no new (n_l, m) array per layer and step; what that saved scoring W2:
docs/developers/measured-core.md). The output layer always uses ``forward``:
the loss reads its logits ``ZL``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """``forward(Z) -> A`` and ``backward(dA, A) -> dZ``; all arrays are (n_l, m)."""

    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    hidden: bool = True  # usable in a hidden layer (softmax is an output activation only)
    forward_inplace: Callable[[np.ndarray], np.ndarray] | None = None  # forward, overwriting Z

    def hidden_forward(self, Z: np.ndarray) -> np.ndarray:
        """A = forward(Z) for a hidden layer, in place over Z where the activation can."""
        return self.forward(Z) if self.forward_inplace is None else self.forward_inplace(Z)


def relu(Z: np.ndarray) -> np.ndarray:
    """max(Z, 0). Z: (n_l, m)."""
    return np.maximum(Z, 0)


def relu_(Z: np.ndarray) -> np.ndarray:
    """relu, in place over Z."""
    return np.maximum(Z, 0, out=Z)


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


def tanh_(Z: np.ndarray) -> np.ndarray:
    return np.tanh(Z, out=Z)


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


def sigmoid_(Z: np.ndarray) -> np.ndarray:
    """sigmoid in place over Z, by the same four operations (negate, exp, add 1, divide 1 by)."""
    with np.errstate(over="ignore"):
        np.negative(Z, out=Z)
        np.exp(Z, out=Z)
        np.add(1.0, Z, out=Z)
        return np.divide(1.0, Z, out=Z)


def sigmoid_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA A (1 - A)."""
    dA *= A * (1 - A)
    return dA


def identity(Z: np.ndarray) -> np.ndarray:
    """The "linear" activation: A = Z."""
    return Z


def identity_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA (the "linear" activation's derivative is 1; not the linear step's
    ``network.linear_backward``)."""
    return dA


def softmax(Z: np.ndarray) -> np.ndarray:
    """exp(Z) / sum(exp(Z)) down each column. Z: (K, m) -> A: (K, m), columns summing to 1.

    The column maximum is subtracted first: softmax is unchanged by a shift, and exp then never
    overflows (logits of 1000 give a finite, exact answer instead of inf / inf = nan).
    """
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    E /= E.sum(axis=0, keepdims=True)
    return E


def softmax_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = A * (dA - sum(dA * A, axis=0)): the softmax Jacobian applied to each column.

    This is the true backward for any upstream dA. Training never calls it for the output
    layer: categorical cross-entropy's gradient is fused with softmax (dZ = A - Y, see
    ``losses``), which is cheaper and exact; this entry exists so the table stays complete
    and gradient checks can test it on its own.
    """
    dA -= np.sum(dA * A, axis=0, keepdims=True)
    dA *= A
    return dA


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(relu, relu_backward, forward_inplace=relu_),
    "leaky_relu": Activation(leaky_relu, leaky_relu_backward),
    "tanh": Activation(tanh, tanh_backward, forward_inplace=tanh_),
    "sigmoid": Activation(sigmoid, sigmoid_backward, forward_inplace=sigmoid_),
    "linear": Activation(identity, identity_backward, forward_inplace=identity),
    # Output only: a softmax hidden layer squeezes its units onto a simplex, which only slows
    # learning, and its tiny first-layer gradients are below what a gradient check can resolve.
    "softmax": Activation(softmax, softmax_backward, hidden=False),
}
"""Every activation a layer can use. An output layer pairs its activation with a loss (see
``losses``): sigmoid with binary cross-entropy, softmax with categorical cross-entropy, linear
with mean squared error."""


def hidden_activation_names() -> list[str]:
    """Names usable in hidden layers."""
    return [name for name, act in ACTIVATIONS.items() if act.hidden]
