"""Choosing the point a config or a run is checked at (``choose_examples``).

A unit whose Z is exactly 0 sits on the kink for every step (the spiral's first example is the
origin and biases start at 0), so the examples are chosen, in dataset order, among those *clear
of the kinks*: every hidden pre-activation whose sign pattern can flip satisfies
|Z_l| > KINK_MARGIN · r_l, where

    r_l = max(ε · max(1, ‖a_{l-1}‖), ‖W_l‖₂ · r_{l-1}),   r_0 = 0,

bounds how far any step of size ε in one parameter array (a coordinate or a unit direction)
can move layer l's pre-activations of that example (a step in W_p moves Z_p by at most
ε‖a_{p-1}‖, one in b_p by ε; each later layer multiplies that by ‖W‖₂, as every activation in
the table is 1-Lipschitz). On such examples no step crosses a kink. The first ``examples``
clear ones are used; the others are passed over, with a notice. Only if no training example is
clear are the hidden biases moved, by a deterministic jitter drawn from ``--seed``:
b_l += KINK_JITTER · s_l · u, u uniform in ±[0.5, 1], s_l = max(1, RMS of ‖a_{l-1}‖ over the
first SCAN_CHUNK examples); the gradient is then checked at that nearby point (a notice and
``bias_jitter`` in the JSON say so). If no example is clear even then (a big --eps), the first
examples are used as they are, and arrays may come out unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.core import forward_layers
from nnctl.core import network as model

KINK_MARGIN = 2.0  # an example is used when every |Z| exceeds this many times the reach of a step
KINK_JITTER = 1e-3  # bias jitter (times the layer's input norm) when no example is clear of kinks
SCAN_CHUNK = 256  # examples scanned at a time for clear ones


def _flips_at_zero(act: Any) -> bool:
    """Whether a layer's sign pattern ``A > 0`` changes where Z crosses 0 (not sigmoid's)."""
    A = act.forward(np.array([[-1e-3, 1e-3]]))
    return bool((A[0, 0] > 0) != (A[0, 1] > 0))


def _hidden_layers(
    params: model.Params, arch: model.Architecture
) -> tuple[model.Params, model.Architecture]:
    """The hidden layers alone, as a network whose output layer is the last hidden one: the
    scans below need nothing after it. The same arrays, so a bias moved in place moves in
    ``params``. Needs at least one hidden layer."""
    sub = model.Params(
        params.Ws[:-1], params.bs[:-1], params.gammas, params.means, params.variances
    )
    return sub, model.Architecture(arch.hidden[:-1], arch.hidden[-1], arch.loss, arch.batch_norm)


class _Clearance:
    """A ``forward_layers`` hook over m examples: ``ok`` says which keep every hidden Z_l whose
    sign pattern can flip further than KINK_MARGIN · r_l from 0 (r_l: the module docstring)."""

    def __init__(self, flips: list[bool], norms: list[float], eps: float, m: int):
        self.flips, self.norms, self.eps = flips, norms, eps
        self.reach = np.zeros(m)
        self.ok = np.ones(m, dtype=bool)

    def __call__(self, l: int, A_prev: np.ndarray, Z: np.ndarray) -> None:
        step = self.eps * np.maximum(1.0, np.linalg.norm(A_prev, axis=0))
        self.reach = np.maximum(step, self.norms[l - 1] * self.reach)
        if self.flips[l - 1]:
            self.ok &= np.all(np.abs(Z) > KINK_MARGIN * self.reach, axis=0)


def clear_examples(
    params: model.Params, X: np.ndarray, arch: model.Architecture, eps: float, n: int
) -> np.ndarray:
    """Indices of the first n columns of X (n_x, m) clear of the kinks: every hidden Z_l whose
    sign pattern can flip has |Z_l| > KINK_MARGIN · r_l (r_l: see the module docstring), so no
    step of size eps in any one parameter array changes the sign pattern. Fewer if fewer are."""
    flips = [_flips_at_zero(act) for act in arch.hidden]
    norms = [float(np.linalg.norm(W, 2)) for W in params.Ws[:-1]]
    hidden = _hidden_layers(params, arch) if arch.hidden else None
    chosen: list[int] = []
    for start in range(0, X.shape[1], SCAN_CHUNK):
        A = X[:, start : start + SCAN_CHUNK]
        clearance = _Clearance(flips, norms, eps, A.shape[1])
        if hidden is not None:
            # batch-normalized layers with the chunk's statistics, as in training (an estimate of
            # the checked examples' own: the sign-pattern test in numeric still guards)
            forward_layers(
                hidden[0], A, hidden[1], inplace=False, on_layer=clearance, norm_cache=[]
            )
        chosen += (start + np.flatnonzero(clearance.ok)).tolist()
        if len(chosen) >= n:
            break
    return np.array(chosen[:n], dtype=np.intp)


def jitter_biases(
    params: model.Params, X: np.ndarray, arch: model.Architecture, rng: np.random.Generator
) -> model.Params:
    """A copy with each hidden bias moved by KINK_JITTER · s_l · u, u uniform in ±[0.5, 1],
    s_l = max(1, RMS over the examples of ‖a_{l-1}‖). X: (n_x, m)."""
    params = params.copy()
    if not arch.hidden:
        return params

    def jitter(l: int, A: np.ndarray) -> None:
        # before layer l's linear step: its input a_{l-1} already carries the earlier jitters
        b = params.bs[l - 1]
        scale = max(1.0, float(np.sqrt(np.mean(np.sum(A * A, axis=0)))))
        b += KINK_JITTER * scale * rng.uniform(0.5, 1.0, b.shape) * rng.choice([-1.0, 1.0], b.shape)

    sub, sub_arch = _hidden_layers(params, arch)
    forward_layers(sub, X, sub_arch, inplace=False, before_layer=jitter, norm_cache=[])
    return params


@dataclass
class Point:
    """Where a config or run is checked: training examples and parameters (see choose_examples)."""

    examples: np.ndarray  # indices of the training examples used
    params: model.Params
    bias_jitter: float | None  # the largest bias shift, when the biases were moved
    clear: bool  # the examples are clear of the kinks (False: none was, even with the jitter)


def choose_examples(
    params: model.Params, X: np.ndarray, arch: model.Architecture, eps: float, n: int, seed: int
) -> Point:
    """The first n examples of X (n_x, m) clear of the kinks at ``params``; if none is, the same
    at ``params`` with jittered hidden biases (a generator seeded by ``seed``); if still none,
    the first n examples at ``params``, as they are."""
    idx = clear_examples(params, X, arch, eps, n)
    if idx.size:
        return Point(idx, params, None, True)
    moved = jitter_biases(params, X[:, :SCAN_CHUNK], arch, np.random.default_rng([seed, 1]))
    idx = clear_examples(moved, X, arch, eps, n)
    if idx.size:
        shift = max(float(np.max(np.abs(b1 - b0))) for b0, b1 in zip(params.bs, moved.bs))
        return Point(idx, moved, shift, True)
    return Point(np.arange(min(n, X.shape[1])), params, None, False)
