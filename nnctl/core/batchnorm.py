"""Batch normalization, as the second course teaches it: per hidden layer, on the linear
step's Z (the layer's bias dropped, beta takes its place), before the activation:

    mu = 1/m sum_i Z_i,   var = 1/m sum_i (Z_i - mu)^2,
    Z_norm = (Z - mu) / sqrt(var + epsilon),   Z_tilde = gamma * Z_norm + beta.

In training mu and var are the mini-batch's; each step also moves the running averages
(exponentially weighted, the course's "batch norm at test time"):
``running := momentum * running + (1 - momentum) * batch``. Prediction, scoring and export use
the running averages in place of the batch's, so an example's output does not depend on the
other examples it is scored with.

The backward pass (``batch_norm_backward``) is the forward's derivative through the batch
statistics (mu and var depend on every example of the batch), derived once here:
with dZt the gradient with respect to Z_tilde and means over the batch,

    dbeta = mean(dZt),   dgamma = mean(dZt * Z_norm),
    dZ = gamma / sqrt(var + epsilon) * (dZt - dbeta - Z_norm * dgamma),

(dZ_norm = gamma dZt; through mu the gradient loses its mean, through var its component along
Z_norm). ``nnctl gradcheck`` checks it against central differences.

The forward functions and their backward twin are called by ``network.forward_layers`` and
``network.backward_layers``; nothing else runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MOMENTUM = 0.9
"""The running averages' decay: the course's exponentially weighted average beta."""
DEFAULT_EPSILON = 1e-5
"""Added to the variance before the square root, so a unit with a constant Z stays finite."""


@dataclass(frozen=True)
class BatchNorm:
    """Which hidden layers are batch-normalized and how. layers: one flag per hidden layer."""

    layers: tuple[bool, ...]
    momentum: float = DEFAULT_MOMENTUM
    epsilon: float = DEFAULT_EPSILON

    @classmethod
    def from_config(cls, value: dict | None) -> BatchNorm | None:
        """The resolved config's ``batch_norm`` ({layers: [...], momentum, epsilon}, or None)."""
        if value is None:
            return None
        return cls(tuple(value["layers"]), value["momentum"], value["epsilon"])

    def on(self, l: int) -> bool:
        """Whether layer l (0-based index into the layers) is normalized."""
        return l < len(self.layers) and self.layers[l]


@dataclass
class NormCache:
    """What the backward pass and the running averages need from one normalized layer's
    forward pass in training. Z_norm: (n_l, m); std = sqrt(var + epsilon), mu, var: (n_l, 1)."""

    Z_norm: np.ndarray
    std: np.ndarray
    mu: np.ndarray
    var: np.ndarray


def batch_norm_forward(
    Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float
) -> tuple[np.ndarray, NormCache]:
    """Training: normalizes with the batch's statistics. Z: (n_l, m) (W A_prev, no bias;
    overwritten), gamma, beta: (n_l, 1) -> Z_tilde: (n_l, m) and the cache."""
    # The means as sums divided by m (what np.mean computes) through the ufuncs' own reduce:
    # np.mean's Python layer costs more than the sum itself on a hidden layer's few values.
    m = Z.shape[1]
    mu = np.add.reduce(Z, axis=1, keepdims=True)
    mu /= m
    Z -= mu  # Z - mu, in place: the buffer becomes Z_norm below
    var = np.add.reduce(Z * Z, axis=1, keepdims=True)
    var /= m
    std = np.sqrt(var + epsilon)
    Z /= std
    Zt = np.multiply(Z, gamma)
    Zt += beta
    return Zt, NormCache(Z, std, mu, var)


def batch_norm_backward(
    dZt: np.ndarray,
    cache: NormCache,
    gamma: np.ndarray,
    dgamma: np.ndarray | None = None,
    dbeta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The twin of ``batch_norm_forward``. dZt: (n_l, m), the gradient of m * cost with respect
    to Z_tilde (the convention of ``network.backward_layers``; overwritten) -> dZ: (n_l, m)
    likewise for Z, and dgamma, dbeta: (n_l, 1), gradients of the cost (averaged over the m
    examples, as db). ``dgamma``, ``dbeta``: arrays to write those into (an optimizer's
    gradient buffer)."""
    m = dZt.shape[1]
    Z_norm = cache.Z_norm
    dbeta = np.add.reduce(dZt, axis=1, keepdims=True, out=dbeta)
    dbeta *= 1.0 / m
    scratch = dZt * Z_norm
    dgamma = np.add.reduce(scratch, axis=1, keepdims=True, out=dgamma)
    dgamma *= 1.0 / m
    # dZ = gamma / std * (dZt - dbeta - Z_norm * dgamma), in dZt's buffer
    dZt -= dbeta
    np.multiply(Z_norm, dgamma, out=scratch)
    dZt -= scratch
    dZt *= gamma / cache.std
    return dZt, dgamma, dbeta


def batch_norm_inference(
    Z: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    """Prediction: the same formula with the running mean and variance, in place on Z:
    (n_l, m) (W A_prev), returned as Z_tilde; each operation is the formula's, in its order."""
    Z -= mean
    Z /= np.sqrt(var + epsilon)
    Z *= gamma
    Z += beta
    return Z


def update_running(
    means: list[np.ndarray | None],
    variances: list[np.ndarray | None],
    caches: list[NormCache | None],
    momentum: float,
) -> None:
    """After a training step: running := momentum * running + (1 - momentum) * batch, for the
    mean and the variance of every normalized layer, in place."""
    for mean, var, c in zip(means, variances, caches):
        if c is None or mean is None or var is None:
            continue
        mean *= momentum
        mean += (1 - momentum) * c.mu
        var *= momentum
        var += (1 - momentum) * c.var
