"""Fast full-batch gradient descent: the first layer's weights kept as W1 = s·W1₀ + C·Xᵀ.

With a fixed X (full batch) every gradient of W1 is ``1/m · dZ1 · Xᵀ``, so after any number of
plain gradient steps W1 is still ``s·W1₀ + C·Xᵀ`` with C: (n_1, m) (s stays 1 for plain gradient
descent; L2 weight decay would shrink s and C together, momentum would keep its velocity in the
same form). The first layer's pre-activation is then

    Z1 = W1·X + b1 = s·(W1₀·X) + C·(XᵀX) + b1,

so with ``P = W1₀·X`` (n_1, m) and ``G = XᵀX`` (m, m) computed once, every iteration costs
m-wide products instead of n_x-wide ones: for the course's cat network (n_x = 12288, m = 209)
layer 1 becomes about 120 times cheaper, and it was nearly all of the work. W1 itself is only
materialized when the loop ends. The arithmetic is exact; in floating point the result differs
from the direct path by rounding only (how much: docs/developers/measured-core.md).

``nnctl.commands.train.fit`` chooses this loop when ``fast_path_applies`` says so.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from nnctl.core import (
    Architecture,
    Params,
    backward_layers,
    example_weights,
    forward_layers,
    initialize_parameters,
)
from nnctl.system import blas_threads
from nnctl.training.loop import OnEpoch, OnIteration, TrainResult

if TYPE_CHECKING:
    from nnctl.config import Config

# Below this many multiply-adds per iteration (C·G dominates) the products are too small to
# share between BLAS threads, so the whole fit runs on one BLAS thread: OpenBLAS threads spin
# waiting for cores that other processes hold, and even the one-off XᵀX is slower on two
# (measured on the cat network: docs/developers/measured-core.md).
SINGLE_THREAD_BELOW = 2e7

# The factored layer must save at least this factor of floating point work, because its
# small m-wide products run further from the machine's peak than the direct n_x-wide ones.
MIN_SAVING = 2.0


def factored_flops(n_x: int, m: int, n_1: int, iterations: int) -> tuple[float, float]:
    """(direct, factored) floating point work of layer 1 over a whole run, in multiply-adds.

    Direct: W1·X forward and dZ1·Xᵀ backward each iteration (the input's dA is skipped).
    Factored: XᵀX and W1₀·X once, C·G each iteration, C·Xᵀ once to materialize W1.
    """
    direct = iterations * 2.0 * n_1 * n_x * m
    factored = n_x * m * m + 2.0 * n_1 * n_x * m + iterations * n_1 * m * m
    return direct, factored


def _unsupported_keys(cfg: Config) -> list[str]:
    """Keys whose value this loop does not implement: every key the config table does not mark
    ``fast_path_ok`` must be at its default (plain gradient descent: momentum or L2 weight decay
    could be carried in the same factored form, then their keys could be marked)."""
    from nnctl.config import config_keys

    values = cfg.to_dict()
    return [
        name
        for name, key in config_keys().items()
        if not key.fast_path_ok and values[name] != key.default
    ]


def fast_path_applies(cfg: Config, X: np.ndarray) -> bool:
    """True when full-batch plain gradient descent on X: (n_x, m) saves work with the factored
    first layer (roughly: n_x well above m, and more than a handful of iterations)."""
    if _unsupported_keys(cfg):
        return False
    n_x, m = X.shape
    direct, factored = factored_flops(n_x, m, int(cfg.layer_dims[1]), cfg.iterations)
    return factored * MIN_SAVING <= direct


class FactoredGD:
    """The state of full-batch gradient descent with W1 = W1₀ + C·Xᵀ (s = 1 for plain GD).

    X: (n_x, m), Y: (n_L, m) converted once to X's dtype so that nothing is upcast in the loop.
    After ``step``, ``dWs[l]``/``dbs[l]`` hold the gradients of layers 2..L (index 0 unused),
    ``db1`` and ``dZ1`` (n_1, m) the first layer's. ``weights``: (m,) per-example weights (None:
    every example weighs 1), scaled once (``example_weights``) for the loss and its gradient.
    """

    def __init__(
        self,
        params: Params,
        X: np.ndarray,
        Y: np.ndarray,
        arch: Architecture,
        lr: float,
        weights: np.ndarray | None = None,
    ):
        self.params, self.arch, self.lr = params, arch, lr
        self.w = None if weights is None else example_weights(weights, X.dtype)
        self.X = X
        self.Y = Y.astype(X.dtype, copy=False)
        self.m = X.shape[1]
        self.W1_0 = params.Ws[0]
        # Each entry of XᵀX sums n_x products; in float32 that alone moves the cost curve off
        # the direct float32 path's (docs/developers/measured-core.md). So the one-off products are
        # computed in float64 and rounded once; the loop itself stays in X's dtype.
        X64 = X.astype(np.float64, copy=False)
        self.P = (self.W1_0.astype(np.float64, copy=False) @ X64).astype(
            X.dtype, copy=False
        )  # (n_1, m)
        # X.T @ X is recognized by numpy as a symmetric rank-k product (half the work).
        self.G = (X64.T @ X64).astype(X.dtype, copy=False)  # (m, m)
        del X64
        self.C = np.zeros((self.W1_0.shape[0], self.m), dtype=X.dtype)  # (n_1, m)
        self.Z1 = np.empty_like(self.P)
        L = params.L
        self.dWs: list[np.ndarray | None] = [None] * L
        self.dbs: list[np.ndarray | None] = [None] * L
        self.dZ1: np.ndarray | None = None
        self.db1: np.ndarray | None = None
        self._pending = 0  # layers whose update has not been applied yet (see finish_update)
        self.steps = 0  # updates applied completely
        self.cost = math.nan  # the cost computed by the last cost_and_gradients

    def cost_and_gradients(self) -> float:
        """One forward and backward pass; returns the cost before this iteration's update."""
        params, arch = self.params, self.arch
        np.matmul(self.C, self.G, out=self.Z1)
        self.Z1 += self.P
        self.Z1 += params.bs[0]
        # Activations out of place, as this path has always computed them (its bits are
        # compared with the direct path's); Z1 stays the buffer the next step writes into.
        cache = [self.X]
        AL, ZL = forward_layers(params, self.X, arch, cache=cache, inplace=False, Z1=self.Z1)
        cost = self.cost = arch.loss.weighted_cost(ZL, AL, self.Y, self.w)
        # layers L..2 as the direct path; layer 1's dW is C's update (see ``update``)
        dZL = arch.loss.weighted_grad(AL, self.Y, self.w)
        self.dWs, self.dbs, self.dZ1 = backward_layers(params, cache, dZL, arch, down_to=2)
        self.db1 = 1.0 / self.m * np.sum(self.dZ1, axis=1, keepdims=True)
        return cost

    def update(self) -> None:
        """W_l -= lr·dW_l for every layer; for layer 1 that is C -= lr/m · dZ1."""
        self._pending = self.params.L
        self.finish_update()

    def finish_update(self) -> None:
        """Applies the updates still pending, last layer first. Called again after a Ctrl-C
        that landed inside ``update``, so the network is never left half-updated."""
        Ws, bs, lr = self.params.Ws, self.params.bs, self.lr
        while self._pending > 0:
            l = self._pending - 1
            if l == 0:
                self.C -= (lr / self.m) * self.dZ1
                bs[0] -= lr * self.db1
                self.steps += 1
            else:
                Ws[l] -= lr * self.dWs[l]
                bs[l] -= lr * self.dbs[l]
            self._pending = l

    def materialize(self) -> Params:
        """The parameters in the course's form: W1 = W1₀ + C·Xᵀ, the other layers as they are."""
        W1 = self.W1_0 + self.C @ self.X.T
        return Params([W1, *self.params.Ws[1:]], list(self.params.bs))


class _Diverged(Exception):
    pass


def _loop(
    state: FactoredGD,
    cfg: Config,
    costs: list[float],
    on_iteration: OnIteration | None,
    on_epoch: OnEpoch | None = None,
) -> None:
    from nnctl.system import interrupt

    check = interrupt.check
    for i in range(cfg.iterations):
        cost = state.cost_and_gradients()
        if not math.isfinite(cost):
            raise _Diverged(
                f"the cost became {cost} at iteration {i}; "
                f"try a smaller learning_rate than {cfg.learning_rate}"
            )
        state.update()
        costs.append(cost)
        if on_iteration is not None:
            on_iteration(i, cost)
        if on_epoch is not None:  # full batch: every step is an epoch; W1 made only if asked
            on_epoch(i + 1, i + 1, state.materialize)
        check()


def fit_fullbatch(
    cfg: Config,
    X: np.ndarray,
    Y: np.ndarray,
    on_iteration: OnIteration | None = None,
    weights: np.ndarray | None = None,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Same contract and same numbers (to rounding) as the direct loop,
    ``nnctl.training.loop.fit_direct``. X: (n_x, m), Y: (n_L, m), weights: (m,) or None."""
    params = initialize_parameters(cfg.layer_dims, cfg.init, cfg.seed, cfg.float_type)
    arch = cfg.arch
    costs: list[float] = []
    status, message = "complete", ""
    start = time.perf_counter()
    state = None
    m, n_1 = X.shape[1], int(cfg.layer_dims[1])
    from nnctl.system import interrupt
    from nnctl.training.state import TrainState

    try:
        with blas_threads(1 if n_1 * m * m < SINGLE_THREAD_BELOW else None), interrupt.deferred():
            # the loss's own targets (one-hot labels for softmax), exactly as the direct loop
            T = arch.loss.targets(Y, int(cfg.layer_dims[-1]), cfg.float_type)
            state = FactoredGD(params, X, T, arch, cfg.learning_rate, weights)
            _loop(state, cfg, costs, on_iteration, on_epoch)
    except _Diverged as exc:
        status, message = "diverged", str(exc)
    except KeyboardInterrupt:
        status = "interrupted"
        if state is not None:
            state.finish_update()
            if state.steps > len(costs):  # the update landed, its bookkeeping did not
                costs.append(state.cost)
        message = f"{interrupt.describe()} after {len(costs)} of {cfg.iterations} iterations"
    final = state.materialize() if state is not None else params
    # full batch: every step is one pass over the training set. Plain gradient descent has no
    # state beyond the parameters, so the materialized ones continue the run (on the direct loop).
    whole = state is None or state.steps == len(costs)
    return TrainResult(
        final,
        costs,
        status,
        time.perf_counter() - start,
        message,
        epochs=len(costs),
        state=TrainState.from_params(cfg, final, costs, []) if whole else None,
    )
