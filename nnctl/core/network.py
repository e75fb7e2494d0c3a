"""The L-layer network: its parameters and initialization, the forward and the backward pass
through its layers, each written once (``forward_layers``, ``backward_layers``), and on them the
course's ``forward`` with caches, ``backward``, cost and gradients, and prediction.

Every caller that runs a network goes through ``forward_layers``: ``forward`` (with its caches,
and dropout masks in training), ``predict_proba``, chunked scoring (its own buffers for each
layer's Z), the fast full-batch path (a factored first layer: it gives Z1), ``predict`` (a
finiteness check on every layer's Z) and ``gradcheck`` (how far each example is from a kink; a
bias jitter before each layer). Every caller that differentiates one goes through
``backward_layers``. What a caller needs besides is a keyword; each is tested against None
once per layer, outside any per-element work, so an unused hook costs nothing. Layers are
numbered 1..L in the hooks, as in the course, and 0..L-1 in the lists.

Notation follows the course: X is (n_x, m), W_l is (n_l, n_{l-1}), b_l is (n_l, 1), and the
parameters are saved as ``W1, b1, ..., WL, bL``. Inside the library they are kept as two
lists (``Ws[l-1]`` is ``W_l``) so the hot loop never builds string keys. A batch-normalized
hidden layer (``nnctl.core.batchnorm``) has no bias: beta replaces it, kept in ``bs`` in its
place, and the layer adds gamma and the running mean and variance (saved as ``gamma1, beta1,
running_mean1, running_var1`` in place of ``b1``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nnctl.core.activations import ACTIVATIONS, Activation
from nnctl.core.batchnorm import (
    BatchNorm,
    NormCache,
    batch_norm_backward,
    batch_norm_forward,
    batch_norm_inference,
)
from nnctl.core.losses import LOSSES, Loss, example_weights


@dataclass
class Params:
    """Weights and biases of an L-layer network. Ws[l]: (n_{l+1}, n_l), bs[l]: (n_{l+1}, 1).

    With batch normalization, one entry per hidden layer in ``gammas``, ``means`` and
    ``variances`` (None for a layer that is not normalized; the lists are empty without batch
    normalization): gamma_l and the running mean and variance of layer l, each (n_l, 1); such a
    layer's ``bs`` entry is its beta (it has no bias)."""

    Ws: list[np.ndarray]
    bs: list[np.ndarray]
    gammas: list[np.ndarray | None] = field(default_factory=list)
    means: list[np.ndarray | None] = field(default_factory=list)
    variances: list[np.ndarray | None] = field(default_factory=list)

    @property
    def L(self) -> int:
        return len(self.Ws)

    def normalized(self, l: int) -> bool:
        """Whether layer l (0-based) is batch-normalized."""
        return l < len(self.gammas) and self.gammas[l] is not None

    def to_dict(self) -> dict[str, np.ndarray]:
        """The course's naming: {'W1': ..., 'b1': ..., ..., 'WL': ..., 'bL': ...}; a
        batch-normalized layer l has 'gamma{l}', 'beta{l}', 'running_mean{l}' and
        'running_var{l}' in place of 'b{l}'."""
        out: dict[str, np.ndarray] = {}
        for l, (W, b) in enumerate(zip(self.Ws, self.bs), start=1):
            out[f"W{l}"] = W
            if self.normalized(l - 1):
                out[f"gamma{l}"] = self.gammas[l - 1]  # type: ignore[assignment]
                out[f"beta{l}"] = b
                out[f"running_mean{l}"] = self.means[l - 1]  # type: ignore[assignment]
                out[f"running_var{l}"] = self.variances[l - 1]  # type: ignore[assignment]
            else:
                out[f"b{l}"] = b
        return out

    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> Params:
        L = sum(1 for k in d if k.startswith("W"))
        Ws = [d[f"W{l}"] for l in range(1, L + 1)]
        norm = [f"gamma{l}" in d for l in range(1, L)]
        bs = [d[f"beta{l}"] if l < L and norm[l - 1] else d[f"b{l}"] for l in range(1, L + 1)]
        if not any(norm):
            return cls(Ws, bs)

        def per_layer(name: str) -> list[np.ndarray | None]:
            return [d[f"{name}{l}"] if norm[l - 1] else None for l in range(1, L)]

        return cls(Ws, bs, per_layer("gamma"), per_layer("running_mean"), per_layer("running_var"))

    def trainable(self) -> list[np.ndarray]:
        """The arrays gradient steps move, in the optimizers' order: W1 .. WL, b1 .. bL (beta
        in place of a normalized layer's b), then the gammas of the normalized layers."""
        return [*self.Ws, *self.bs, *(g for g in self.gammas if g is not None)]

    def all_finite(self) -> bool:
        return all(
            np.isfinite(a).all()
            for a in (*self.Ws, *self.bs, *self.gammas, *self.means, *self.variances)
            if a is not None
        )

    def copy(self) -> Params:
        def copies(arrays: list[np.ndarray | None]) -> list[np.ndarray | None]:
            return [None if a is None else a.copy() for a in arrays]

        return Params(
            [W.copy() for W in self.Ws],
            [b.copy() for b in self.bs],
            copies(self.gammas),
            copies(self.means),
            copies(self.variances),
        )


def _uniform(W0: np.ndarray) -> np.ndarray:
    """A standard-normal draw W0 -> uniform on (-1, 1): erf(W0 / sqrt(2)) = 2 Phi(W0) - 1."""
    return np.frompyfunc(math.erf, 1, 1)(W0 / math.sqrt(2.0)).astype(np.float64)


# Each initializer scales a standard-normal draw W0: (n_l, n_{l-1}); biases always start at zero.
# 'scaled' divides by sqrt(n_prev) exactly as the course writes it: multiplying by the
# reciprocal instead would differ in the last bit and move the course's cost curve.
INITIALIZERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "scaled": lambda W0, n, n_prev: W0 / np.sqrt(n_prev),  # course, deep network
    "small": lambda W0, n, n_prev: W0 * 0.01,  # course, two-layer network
    "he": lambda W0, n, n_prev: W0 * np.sqrt(2.0 / n_prev),
    "xavier": lambda W0, n, n_prev: W0 * np.sqrt(2.0 / (n + n_prev)),  # Glorot normal
    # Glorot uniform, scikit-learn's MLP's (and Keras's default): U(-r, r), r = sqrt(6 / (n +
    # n_prev)). The normal draw is mapped to a uniform one through the normal CDF, erf(W0/sqrt 2)
    # in (-1, 1), so it is still one randn draw per layer and the other layers do not move.
    "glorot_uniform": lambda W0, n, n_prev: _uniform(W0) * np.sqrt(6.0 / (n + n_prev)),
    # Course, week 2 (logistic regression). With hidden layers every unit of a layer gets the
    # same gradient and stays identical: the course's lesson on breaking symmetry (see
    # ``Config.warnings``). The draw is still made, so other layers' weights do not move.
    "zeros": lambda W0, n, n_prev: np.zeros_like(W0),
    # The second course's "large random" lesson (initialization notebook, randn * 10): weights
    # too large saturate the sigmoid and train slowly. A lesson, not a choice for real runs.
    "large": lambda W0, n, n_prev: W0 * 10,
}


def initialize_parameters(
    layer_dims: list[int],
    init: str,
    seed: int,
    dtype: np.dtype | type = np.float64,
    batch_norm: BatchNorm | None = None,
) -> Params:
    """W_l = INITIALIZERS[init](randn(n_l, n_{l-1})), b_l = 0, drawn layer by layer.

    Drawing W1, W2, ... in order from ``RandomState(seed)`` is what ``np.random.seed(seed)``
    followed by ``np.random.randn`` does in the course, so seed 1 reproduces its weights bit
    for bit. Weights are drawn in float64 and then cast, so float32 gets the same weights rounded.
    ``batch_norm``: its layers get gamma = 1, beta = 0 (in b's place), a running mean of 0 and
    a running variance of 1; the weights are the same draws as without it.
    """
    rng = np.random.RandomState(seed)
    scale = INITIALIZERS[init]
    Ws, bs = [], []
    for n_prev, n in zip(layer_dims[:-1], layer_dims[1:]):
        Ws.append(scale(rng.randn(n, n_prev), n, n_prev).astype(dtype, copy=False))
        bs.append(np.zeros((n, 1), dtype=dtype))
    if batch_norm is None or not any(batch_norm.layers):
        return Params(Ws, bs)

    def per_layer(fill: float) -> list[np.ndarray | None]:
        return [
            np.full((n, 1), fill, dtype=dtype) if on else None
            for n, on in zip(layer_dims[1:], batch_norm.layers)
        ]

    return Params(Ws, bs, per_layer(1.0), per_layer(0.0), per_layer(1.0))


def parameter_shapes(
    layer_dims: list[int], batch_norm: Sequence[bool] | None = None
) -> dict[str, tuple[int, int]]:
    """The shape of every array ``Params.to_dict`` holds, by name, in its order: W_l: (n_l,
    n_{l-1}) and b_l: (n_l, 1), or for a normalized layer gamma_l, beta_l, running_mean_l,
    running_var_l: (n_l, 1). ``batch_norm``: one flag per hidden layer."""
    flags = list(batch_norm or [])
    out = {}
    for l in range(1, len(layer_dims)):
        n = layer_dims[l]
        out[f"W{l}"] = (n, layer_dims[l - 1])
        if l - 1 < len(flags) and flags[l - 1]:
            for name in ("gamma", "beta", "running_mean", "running_var"):
                out[f"{name}{l}"] = (n, 1)
        else:
            out[f"b{l}"] = (n, 1)
    return out


@dataclass(frozen=True)
class Architecture:
    """What the forward and backward passes need besides the parameters."""

    hidden: tuple[Activation, ...]  # one per hidden layer (L - 1 entries)
    output: Activation
    loss: Loss
    batch_norm: BatchNorm | None = None  # which hidden layers are normalized; None: none

    @classmethod
    def build(
        cls, activations: list[str], loss: str, batch_norm: BatchNorm | None = None
    ) -> Architecture:
        """Looks the names up in the tables (at call time, so a patched table is honoured)."""
        return cls(
            tuple(ACTIVATIONS[name] for name in activations[:-1]),
            ACTIVATIONS[activations[-1]],
            LOSSES[loss],
            batch_norm,
        )


LayerHook = Callable[[int, np.ndarray, np.ndarray], None]
"""``on_layer(l, A_prev, Z)``: called with layer l's input A_prev: (n_{l-1}, m) and its
pre-activation Z: (n_l, m) after the linear step, before the activation (for every layer,
the output layer too; for a batch-normalized layer Z is Z_tilde, what the activation gets).
It may read them; it must not change them."""

InputHook = Callable[[int, np.ndarray], None]
"""``before_layer(l, A_prev)``: called with layer l's input A_prev: (n_{l-1}, m) before its
linear step; it may change that layer's W or b in place (gradcheck's bias jitter does)."""


def linear_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Z = W A_prev + b. A_prev: (n_{l-1}, m), W: (n_l, n_{l-1}), b: (n_l, 1) -> Z: (n_l, m).

    ``out``: a C-contiguous (n_l, m) array to write Z into (chunked scoring's buffers), else a
    new one; ``W @ A_prev`` is the same product either way, so the bits are too.
    """
    Z = np.matmul(W, A_prev, out=out)
    Z += b  # in place: no second (n_l, m) array
    return Z


def forward_layers(
    params: Params,
    X: np.ndarray,
    arch: Architecture,
    *,
    cache: list[np.ndarray] | None = None,
    masks: Sequence[np.ndarray | None] | None = None,
    inplace: bool = True,
    Z1: np.ndarray | None = None,
    out: Sequence[np.ndarray] | None = None,
    before_layer: InputHook | None = None,
    on_layer: LayerHook | None = None,
    norm_cache: list[NormCache | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """[LINEAR -> ACTIVATION] x (L-1) -> LINEAR -> OUTPUT. X: (n_x, m) -> (AL, ZL): (n_L, m).

    cache: a list to append each hidden layer's output to (``forward`` passes [X], so it ends as
    every layer's input); with ``masks`` the dropped outputs are appended, then the undropped.
    masks: one inverted-dropout mask D_l: (n_l, m) or None per hidden layer (``dropout_masks``);
    layer l's output is multiplied by D_l before it feeds layer l+1.
    inplace: hidden activations may write over their Z (``Activation.hidden_forward``); False
    keeps every Z (the callers that always used ``Activation.forward`` pass False, which keeps
    their bits). The output layer always uses ``forward``: the loss reads ZL.
    Z1: layer 1's pre-activation, computed by the caller (the factored first layer of
    ``nnctl.training.fullbatch``); layer 1's linear step is then skipped.
    out: one C-contiguous (n_l, m) array per layer to write Z_l into instead of new ones.
    before_layer, on_layer: the hooks above.
    norm_cache: training with batch normalization (``arch.batch_norm``): a list to append one
    entry per hidden layer to (a ``NormCache`` of a normalized layer, else None), and the
    batch's statistics are used; None: the running averages are (prediction, scoring). A
    normalized layer computes W A_prev without a bias, then Z_tilde (``nnctl.core.batchnorm``);
    ``Z1`` must not be given for a normalized layer 1.
    """
    L = params.L
    bn = arch.batch_norm
    undropped: list[np.ndarray] = []
    A = X
    for l in range(L):
        if before_layer is not None:
            before_layer(l + 1, A)
        if bn is not None and bn.on(l):
            Z = np.matmul(params.Ws[l], A, out=None if out is None else out[l])
            if norm_cache is not None:
                Z, c = batch_norm_forward(Z, params.gammas[l], params.bs[l], bn.epsilon)
                norm_cache.append(c)
            else:
                Z = batch_norm_inference(
                    Z,
                    params.gammas[l],
                    params.bs[l],
                    params.means[l],
                    params.variances[l],
                    bn.epsilon,
                )
        elif l == 0 and Z1 is not None:
            Z = Z1
        else:
            Z = linear_forward(A, params.Ws[l], params.bs[l], None if out is None else out[l])
            if norm_cache is not None and l < L - 1:
                norm_cache.append(None)
        if on_layer is not None:
            on_layer(l + 1, A, Z)
        if l == L - 1:
            break
        act = arch.hidden[l]
        A = act.hidden_forward(Z) if inplace else act.forward(Z)
        if masks is not None:
            undropped.append(A)
            D = masks[l]
            if D is not None:
                A = A * D
        if cache is not None:
            cache.append(A)
    if cache is not None:
        cache += undropped
    return arch.output.forward(Z), Z


def forward(
    params: Params,
    X: np.ndarray,
    arch: Architecture,
    masks: list[np.ndarray | None] | None = None,
    norm_cache: list[NormCache | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """[LINEAR -> ACTIVATION] x (L-1) -> LINEAR -> OUTPUT, keeping the caches.

    X: (n_x, m) -> AL: (n_L, m), ZL: (n_L, m) (the loss needs the logits), and the cache
    [X, A1, ..., A_{L-1}]: each layer's input, all the backward pass needs.

    With ``masks`` (inverted dropout, see ``dropout_masks``), hidden layer l's output is
    multiplied by masks[l-1]: (n_l, m) before it feeds layer l+1, and the cache holds
    [X, A1 * D1, ..., A_{L-1} * D_{L-1}, A1, ..., A_{L-1}]: the dropped inputs first, then
    the undropped activations, which the derivatives of tanh and sigmoid need.

    ``norm_cache``: with batch normalization, a list: the batch's statistics are used (training)
    and what the backward pass needs is appended (see ``forward_layers``).
    """
    cache = [X]
    AL, ZL = forward_layers(params, X, arch, cache=cache, masks=masks, norm_cache=norm_cache)
    return AL, ZL, cache


def linear_backward(
    dZ: np.ndarray,
    A_prev: np.ndarray,
    W: np.ndarray,
    need_dA_prev: bool = True,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
    need_db: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of the linear step, averaged over the m examples as the course does.

    dZ: (n_l, m), A_prev: (n_{l-1}, m), W: (n_l, n_{l-1})
    -> dA_prev: (n_{l-1}, m) or None, dW: (n_l, n_{l-1}), db: (n_l, 1).
    The input layer's dA is never used, so the caller skips it (a third of layer 1's work).
    ``dW``, ``db``: C-contiguous arrays to write the gradients into (an optimizer's flat
    gradient buffer), else new ones; the arithmetic is the same either way.
    ``need_db`` False: a batch-normalized layer, which has no bias (db is None).
    """
    m = A_prev.shape[1]
    dW = np.matmul(dZ, A_prev.T, out=dW)
    dW *= 1.0 / m  # in place; the same product as the course's 1/m * (...), bit for bit
    if need_db:
        db = np.sum(dZ, axis=1, keepdims=True, out=db)
        db *= 1.0 / m
    else:
        db = None
    dA_prev = W.T @ dZ if need_dA_prev else None
    return dA_prev, dW, db


def backward_layers(
    params: Params,
    cache: list[np.ndarray],
    dZL: np.ndarray,
    arch: Architecture,
    masks: Sequence[np.ndarray | None] | None = None,
    out: Params | None = None,
    *,
    down_to: int = 1,
    norm_cache: list[NormCache | None] | None = None,
    dgammas: list[np.ndarray | None] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    """Chain rule from the output back to layer ``down_to`` (1: all the way, as ``backward``).

    cache, masks: as ``forward_layers`` left them (cache starting with X). dZL: (n_L, m), the
    gradient of m * cost with respect to ZL. out: arrays shaped like params to write the
    gradients into. Returns dWs, dbs shaped like params.Ws, params.bs (None below
    ``down_to``) and, when ``down_to`` > 1, the gradient with respect to layer
    ``down_to - 1``'s Z (the full-batch path's factored first layer takes dZ1 from here);
    else None.

    With batch normalization: ``norm_cache`` as ``forward_layers`` filled it; a normalized
    layer's ``dbs`` entry is dbeta, and its dgamma goes into ``dgammas`` (a list, one entry per
    hidden layer, filled in here; ``out.gammas`` receives the values when ``out`` is given).
    """
    L = params.L
    bn = arch.batch_norm
    dWs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dbs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    if dgammas is not None:
        dgammas[:] = [None] * len(params.gammas)
    dZ = dZL
    for l in range(L - 1, down_to - 2, -1):
        dW, db = (out.Ws[l], out.bs[l]) if out is not None else (None, None)
        normed = bn is not None and bn.on(l)
        dA_prev, dWs[l], db_l = linear_backward(
            dZ, cache[l], params.Ws[l], l > 0, dW, db, need_db=not normed
        )
        if not normed:
            dbs[l] = db_l
        if l > 0:
            A = cache[l]
            if masks is not None:
                A = cache[L - 1 + l]  # the undropped output: tanh's and sigmoid's derivatives
                if masks[l - 1] is not None:
                    dA_prev *= masks[l - 1]
            dZ = arch.hidden[l - 1].backward(dA_prev, A)
            if bn is not None and bn.on(l - 1):
                if norm_cache is None:
                    raise ValueError("batch normalization's backward pass needs norm_cache")
                dgamma, dbeta = (
                    (out.gammas[l - 1], out.bs[l - 1]) if out is not None else (None, None)
                )
                dZ, dg, dbs[l - 1] = batch_norm_backward(
                    dZ, norm_cache[l - 1], params.gammas[l - 1], dgamma, dbeta
                )
                if dgammas is not None:
                    dgammas[l - 1] = dg
    return dWs, dbs, dZ if down_to > 1 else None


def backward(
    params: Params,
    cache: list[np.ndarray],
    dZL: np.ndarray,
    arch: Architecture,
    masks: list[np.ndarray | None] | None = None,
    out: Params | None = None,
    *,
    norm_cache: list[NormCache | None] | None = None,
    dgammas: list[np.ndarray | None] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Chain rule from the output back to layer 1.

    dZL: (n_L, m), the gradient of m * cost with respect to ZL. Returns dWs, dbs shaped like
    params.Ws, params.bs. ``masks`` must be the ones ``forward`` used: the gradient flows only
    through kept units, scaled like them. ``out``: arrays shaped like params to write the
    gradients into (``FlatOptimizer.grads``); the lists returned then hold them.
    ``norm_cache``, ``dgammas``: batch normalization's (see ``backward_layers``).
    """
    dWs, dbs, _ = backward_layers(
        params, cache, dZL, arch, masks, out, norm_cache=norm_cache, dgammas=dgammas
    )
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
    weights: np.ndarray | None = None,
    norm_cache: list[NormCache | None] | None = None,
    dgammas: list[np.ndarray | None] | None = None,
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """One full forward and backward pass. X: (n_x, m), Y: (n_L, m).

    l2: lambda of the L2 penalty; the cost gains l2/(2m) sum ||W||^2 and each dW gains
    (l2/m) W (biases are not penalized). masks: dropout masks from ``dropout_masks`` (training
    only); None means no dropout. The defaults reproduce the plain course computation exactly.
    out: where to write the gradients (see ``backward``).
    weights: (m,) per-example weights >= 0, or None. The loss becomes the weighted mean
    sum_i w_i l_i / sum_i w_i (``losses.example_weights``) and the L2 term is divided by
    sum_i w_i instead of m (scikit-learn's MLP does both), so integer weights k train as k
    copies of the example would; weights of ones give the unweighted bits.
    With batch normalization the batch's statistics are used (training; unweighted, as
    Keras and PyTorch compute them); ``norm_cache`` (a list) receives them for the running
    averages (``batchnorm.update_running``), ``dgammas`` (a list) the gradients of the gammas;
    the dbs of normalized layers are their dbetas. L2 does not apply to gamma and beta.
    """
    if arch.batch_norm is None:
        AL, ZL, cache = forward(params, X, arch, masks)
        w = None if weights is None else example_weights(weights, AL.dtype)
        cost = arch.loss.weighted_cost(ZL, AL, Y, w)
        dWs, dbs = backward(params, cache, arch.loss.weighted_grad(AL, Y, w), arch, masks, out)
    else:
        norm_cache = [] if norm_cache is None else norm_cache
        AL, ZL, cache = forward(params, X, arch, masks, norm_cache)
        w = None if weights is None else example_weights(weights, AL.dtype)
        cost = arch.loss.weighted_cost(ZL, AL, Y, w)
        dZL = arch.loss.weighted_grad(AL, Y, w)
        dWs, dbs = backward(
            params, cache, dZL, arch, masks, out, norm_cache=norm_cache, dgammas=dgammas
        )
    if l2:
        m = X.shape[1]
        if weights is not None and np.sum(weights) > 0:
            m = float(np.sum(weights))  # a batch that weighs nothing keeps its count
        cost += l2_cost(params, l2, m)
        for dW, W in zip(dWs, params.Ws):
            dW += (l2 / m) * W
    return cost, dWs, dbs


def predict_proba(params: Params, X: np.ndarray, arch: Architecture) -> np.ndarray:
    """Cache-free forward pass. X: (n_x, m) -> AL: (n_L, m)."""
    return forward_layers(params, X, arch)[0]
