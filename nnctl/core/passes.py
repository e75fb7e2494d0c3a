"""The forward and the backward pass through the layers, each written once.

Every caller that runs a network goes through ``forward_layers``: the course's ``forward``
(with its caches, and dropout masks in training), ``predict_proba``, chunked scoring (its own
buffers for each layer's Z), the fast full-batch path (a factored first layer: it gives Z1),
``predict`` (a finiteness check on every layer's Z) and ``gradcheck`` (how far each example is
from a kink; a bias jitter before each layer). Every caller that differentiates one goes
through ``backward_layers``. What a caller needs besides is a keyword; each is tested against
None once per layer, outside any per-element work, so an unused hook costs nothing.

Notation follows the course: A_prev: (n_{l-1}, m), W: (n_l, n_{l-1}), b: (n_l, 1), Z: (n_l, m);
layers are numbered 1..L in the hooks, as in the course, and 0..L-1 in the lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnctl.core.network import Architecture, Params

LayerHook = Callable[[int, np.ndarray, np.ndarray], None]
"""``on_layer(l, A_prev, Z)``: called with layer l's input A_prev: (n_{l-1}, m) and its
pre-activation Z: (n_l, m) after the linear step, before the activation (for every layer,
the output layer too). It may read them; it must not change them."""

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
    """
    L = params.L
    undropped: list[np.ndarray] = []
    A = X
    for l in range(L):
        if before_layer is not None:
            before_layer(l + 1, A)
        if l == 0 and Z1 is not None:
            Z = Z1
        else:
            Z = linear_forward(A, params.Ws[l], params.bs[l], None if out is None else out[l])
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


def linear_backward(
    dZ: np.ndarray,
    A_prev: np.ndarray,
    W: np.ndarray,
    need_dA_prev: bool = True,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of the linear step, averaged over the m examples as the course does.

    dZ: (n_l, m), A_prev: (n_{l-1}, m), W: (n_l, n_{l-1})
    -> dA_prev: (n_{l-1}, m) or None, dW: (n_l, n_{l-1}), db: (n_l, 1).
    The input layer's dA is never used, so the caller skips it (a third of layer 1's work).
    ``dW``, ``db``: C-contiguous arrays to write the gradients into (an optimizer's flat
    gradient buffer), else new ones; the arithmetic is the same either way.
    """
    m = A_prev.shape[1]
    dW = np.matmul(dZ, A_prev.T, out=dW)
    dW *= 1.0 / m  # in place; the same product as the course's 1/m * (...), bit for bit
    db = np.sum(dZ, axis=1, keepdims=True, out=db)
    db *= 1.0 / m
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
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    """Chain rule from the output back to layer ``down_to`` (1: all the way, as ``backward``).

    cache, masks: as ``forward_layers`` left them (cache starting with X). dZL: (n_L, m), the
    gradient of m * cost with respect to ZL. out: arrays shaped like params to write the
    gradients into. Returns dWs, dbs shaped like params.Ws, params.bs (None below
    ``down_to``) and, when ``down_to`` > 1, the gradient with respect to layer
    ``down_to - 1``'s Z (the full-batch path's factored first layer takes dZ1 from here);
    else None.
    """
    L = params.L
    dWs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dbs: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dZ = dZL
    for l in range(L - 1, down_to - 2, -1):
        dW, db = (out.Ws[l], out.bs[l]) if out is not None else (None, None)
        dA_prev, dWs[l], dbs[l] = linear_backward(dZ, cache[l], params.Ws[l], l > 0, dW, db)
        if l > 0:
            A = cache[l]
            if masks is not None:
                A = cache[L - 1 + l]  # the undropped output: tanh's and sigmoid's derivatives
                if masks[l - 1] is not None:
                    dA_prev *= masks[l - 1]
            dZ = arch.hidden[l - 1].backward(dA_prev, A)
    return dWs, dbs, dZ if down_to > 1 else None
