"""The L-layer network: its parameters and initialization, and the course's forward pass with
caches, backward pass, cost and gradients, and prediction (the loops through the layers are
``passes``).

Notation follows the course: X is (n_x, m), W_l is (n_l, n_{l-1}), b_l is (n_l, 1), and the
parameters are saved as ``W1, b1, ..., WL, bL``. Inside the library they are kept as two
lists (``Ws[l-1]`` is ``W_l``) so the hot loop never builds string keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnctl.core.activations import ACTIVATIONS, Activation
from nnctl.core.losses import LOSSES, Loss
from nnctl.core.passes import backward_layers, forward_layers


@dataclass
class Params:
    """Weights and biases of an L-layer network. Ws[l]: (n_{l+1}, n_l), bs[l]: (n_{l+1}, 1)."""

    Ws: list[np.ndarray]
    bs: list[np.ndarray]

    @property
    def L(self) -> int:
        return len(self.Ws)

    def to_dict(self) -> dict[str, np.ndarray]:
        """The course's naming: {'W1': ..., 'b1': ..., ..., 'WL': ..., 'bL': ...}."""
        out: dict[str, np.ndarray] = {}
        for l, (W, b) in enumerate(zip(self.Ws, self.bs), start=1):
            out[f"W{l}"] = W
            out[f"b{l}"] = b
        return out

    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> Params:
        L = len(d) // 2
        return cls([d[f"W{l}"] for l in range(1, L + 1)], [d[f"b{l}"] for l in range(1, L + 1)])

    def all_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (*self.Ws, *self.bs))

    def copy(self) -> Params:
        return Params([W.copy() for W in self.Ws], [b.copy() for b in self.bs])


# Each initializer scales a standard-normal draw W0: (n_l, n_{l-1}); biases always start at zero.
# 'scaled' divides by sqrt(n_prev) exactly as the course writes it: multiplying by the
# reciprocal instead would differ in the last bit and move the course's cost curve.
INITIALIZERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "scaled": lambda W0, n, n_prev: W0 / np.sqrt(n_prev),  # course, deep network
    "small": lambda W0, n, n_prev: W0 * 0.01,  # course, two-layer network
    "he": lambda W0, n, n_prev: W0 * np.sqrt(2.0 / n_prev),
    "xavier": lambda W0, n, n_prev: W0 * np.sqrt(2.0 / (n + n_prev)),  # Glorot normal
    # Course, week 2 (logistic regression). With hidden layers every unit of a layer gets the
    # same gradient and stays identical: the course's lesson on breaking symmetry (see
    # ``Config.warnings``). The draw is still made, so other layers' weights do not move.
    "zeros": lambda W0, n, n_prev: np.zeros_like(W0),
}


def initialize_parameters(
    layer_dims: list[int], init: str, seed: int, dtype: np.dtype | type = np.float64
) -> Params:
    """W_l = INITIALIZERS[init](randn(n_l, n_{l-1})), b_l = 0, drawn layer by layer.

    Drawing W1, W2, ... in order from ``RandomState(seed)`` is what ``np.random.seed(seed)``
    followed by ``np.random.randn`` does in the course, so seed 1 reproduces its weights bit
    for bit. Weights are drawn in float64 and then cast, so float32 gets the same weights rounded.
    """
    rng = np.random.RandomState(seed)
    scale = INITIALIZERS[init]
    Ws, bs = [], []
    for n_prev, n in zip(layer_dims[:-1], layer_dims[1:]):
        Ws.append(scale(rng.randn(n, n_prev), n, n_prev).astype(dtype, copy=False))
        bs.append(np.zeros((n, 1), dtype=dtype))
    return Params(Ws, bs)


@dataclass(frozen=True)
class Architecture:
    """What the forward and backward passes need besides the parameters."""

    hidden: tuple[Activation, ...]  # one per hidden layer (L - 1 entries)
    output: Activation
    loss: Loss

    @classmethod
    def build(cls, activations: list[str], loss: str) -> Architecture:
        """Looks the names up in the tables (at call time, so a patched table is honoured)."""
        return cls(
            tuple(ACTIVATIONS[name] for name in activations[:-1]),
            ACTIVATIONS[activations[-1]],
            LOSSES[loss],
        )


def forward(
    params: Params, X: np.ndarray, arch: Architecture, masks: list[np.ndarray | None] | None = None
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """[LINEAR -> ACTIVATION] x (L-1) -> LINEAR -> OUTPUT, keeping the caches.

    X: (n_x, m) -> AL: (n_L, m), ZL: (n_L, m) (the loss needs the logits), and the cache
    [X, A1, ..., A_{L-1}]: each layer's input, all the backward pass needs.

    With ``masks`` (inverted dropout, see ``dropout_masks``), hidden layer l's output is
    multiplied by masks[l-1]: (n_l, m) before it feeds layer l+1, and the cache holds
    [X, A1 * D1, ..., A_{L-1} * D_{L-1}, A1, ..., A_{L-1}]: the dropped inputs first, then
    the undropped activations, which the derivatives of tanh and sigmoid need.
    """
    cache = [X]
    AL, ZL = forward_layers(params, X, arch, cache=cache, masks=masks)
    return AL, ZL, cache


def backward(
    params: Params,
    cache: list[np.ndarray],
    dZL: np.ndarray,
    arch: Architecture,
    masks: list[np.ndarray | None] | None = None,
    out: Params | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Chain rule from the output back to layer 1.

    dZL: (n_L, m), the gradient of m * cost with respect to ZL. Returns dWs, dbs shaped like
    params.Ws, params.bs. ``masks`` must be the ones ``forward`` used: the gradient flows only
    through kept units, scaled like them. ``out``: arrays shaped like params to write the
    gradients into (``FlatOptimizer.grads``); the lists returned then hold them.
    """
    dWs, dbs, _ = backward_layers(params, cache, dZL, arch, masks, out)
    return dWs, dbs


def dropout_masks(
    hidden_dims: list[int],
    keep_probs: list[float],
    m: int,
    rng: np.random.Generator,
    dtype: np.dtype | type = np.float64,
) -> list[np.ndarray | None]:
    """Inverted-dropout masks, one per hidden layer: D_l: (n_l, m) holding 1/keep where a unit
    is kept (probability keep) and 0 where it is dropped, so E[A * D] = A and nothing needs
    rescaling at prediction time. A layer with keep = 1 gets None (no mask, no draw)."""
    masks: list[np.ndarray | None] = []
    for n, keep in zip(hidden_dims, keep_probs):
        if keep >= 1.0:
            masks.append(None)
            continue
        masks.append(np.where(rng.random((n, m)) < keep, 1.0 / keep, 0.0).astype(dtype, copy=False))
    return masks


def l2_cost(params: Params, l2: float, m: int) -> float:
    """The L2 penalty added to the cost: l2 / (2 m) * sum over layers of ||W_l||_F^2."""
    return l2 / (2 * m) * float(sum(np.sum(W * W) for W in params.Ws))


def cost_and_gradients(
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    arch: Architecture,
    *,
    l2: float = 0.0,
    masks: list[np.ndarray | None] | None = None,
    out: Params | None = None,
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """One full forward and backward pass. X: (n_x, m), Y: (n_L, m).

    l2: lambda of the L2 penalty; the cost gains l2/(2m) sum ||W||^2 and each dW gains
    (l2/m) W (biases are not penalized). masks: dropout masks from ``dropout_masks`` (training
    only); None means no dropout. The defaults reproduce the plain course computation exactly.
    out: where to write the gradients (see ``backward``).
    """
    AL, ZL, cache = forward(params, X, arch, masks)
    cost = arch.loss.cost(ZL, AL, Y)
    dWs, dbs = backward(params, cache, arch.loss.grad(AL, Y), arch, masks, out)
    if l2:
        m = X.shape[1]
        cost += l2_cost(params, l2, m)
        for dW, W in zip(dWs, params.Ws):
            dW += (l2 / m) * W
    return cost, dWs, dbs


def predict_proba(params: Params, X: np.ndarray, arch: Architecture) -> np.ndarray:
    """Cache-free forward pass. X: (n_x, m) -> AL: (n_L, m)."""
    return forward_layers(params, X, arch)[0]
