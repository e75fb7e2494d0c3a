"""Update rules as small classes in a table keyed by the names configs use.

The contract, shared by all: ``HYPERPARAMETERS`` on the class names its settings with their
defaults and checks (they become config keys, null unless the optimizer is chosen);
``Optimizer(params, cfg)`` creates any state (zeros shaped like the parameters), reads its
settings from ``cfg.hyperparameters`` and moves the parameters into its flat buffer (see
``FlatOptimizer``); ``step(params, dWs, dbs, lr)`` updates ``params`` in place from one batch's
gradients; ``state()`` returns the state as named arrays and ``load_state(arrays)`` puts it
back, so a checkpoint can resume the exact same trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.core import fused
from nnctl.core.flat import FlatArrays
from nnctl.core.network import Params
from nnctl.system import fraction, positive_number


@dataclass(frozen=True)
class Hyperparameter:
    """One setting of an optimizer: its default, the check of a configured value (from
    ``nnctl.system.checks``) and what it is, for the config key's documentation."""

    default: float
    check: Callable[[Any], float]
    doc: str


class FlatOptimizer:
    """What every optimizer here shares: the parameters, their gradients and the state live in
    flat buffers (``nnctl.core.flat``), so each operation of an update is one pass over all the
    parameters instead of one call per array.

    ``__init__`` moves the parameters into the optimizer's buffer: afterwards ``params.Ws`` and
    ``params.bs`` hold views of it (same values, same shapes). ``grads`` is a ``Params`` of
    views into the gradient buffer; a backward pass that writes there (``model.backward``'s
    ``out``) saves ``step`` a copy. ``step`` also accepts any other parameters and gradients of
    the same shapes (copied in and out), so the contract stays that of the table above.
    """

    def __init__(self, params: Params) -> None:
        arrays = params.trainable()
        self._L = params.L
        self._params = FlatArrays.like(arrays)
        self._params.load(arrays)
        _point_into(params, self._params.views)
        self._grads = FlatArrays.like(arrays)
        self.grads = Params([], [], list(params.gammas))  # the layers that have a gamma
        _point_into(self.grads, self._grads.views, self._L)
        self._foreign: FlatArrays | None = None  # scratch for parameters that are not ours
        self._kernel: Callable[..., None] | None = None  # the compiled update, when chosen

    RULE: str | None = None  # the update's name in ``nnctl.core.fused``, when it has a compiled one

    def prepare(self) -> None:
        """Chooses how the updates run: compiled into one pass (``nnctl.core.fused``) unless
        ``NNCTL_COMPILED=never`` or the extension is not built here, else numpy's passes. Both
        give the same bits, so the choice never changes a result."""
        self._kernel = None
        if self.RULE is None or fused.setting() == "never":
            return
        self._kernel = fused.kernel(self.RULE)

    @property
    def compiled(self) -> bool:
        """True when updates run compiled (see ``prepare``)."""
        return self._kernel is not None

    def _state(self) -> FlatArrays:
        """A zeroed buffer shaped like the parameters, for a piece of state."""
        return FlatArrays.like(self._params.views)

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Two flat scratch buffers the size of the parameters, allocated once, so that a step
        allocates nothing: (the update's numerator, then the update; (1 - b2) dW^2, then the
        denominator)."""
        return np.empty_like(self._params.flat), np.empty_like(self._params.flat)

    def step(
        self,
        params: Params,
        dWs: list[np.ndarray],
        dbs: list[np.ndarray],
        lr: float,
        dgammas: list[np.ndarray | None] | None = None,
    ) -> None:
        """One update from one batch's gradients; ``dgammas`` (one entry per hidden layer, as
        ``cost_and_gradients`` fills it) with batch normalization, whose gammas it moves too."""
        grads = [*dWs, *dbs, *(g for g in (dgammas or []) if g is not None)]
        if len(grads) != len(self._grads.views):
            raise ValueError(
                f"expected gradients of {len(self._grads.views)} arrays, got {len(grads)} "
                "(batch normalization's gammas need dgammas)"
            )
        if not self._grads.holds(grads):
            self._grads.load(grads)
        arrays = params.trainable()
        if self._params.holds(arrays):
            self.update(self._params.flat, self._grads.flat, lr)
            return
        if self._foreign is None:
            self._foreign = self._state()
        self._foreign.load(arrays)
        self.update(self._foreign.flat, self._grads.flat, lr)
        self._foreign.store(arrays)

    def update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        """One update of the flat parameters p from the flat gradients g, in place."""
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        pass


def _point_into(params: Params, views: list[np.ndarray], L: int | None = None) -> None:
    """Makes ``params``' trainable arrays the ``views`` (in ``Params.trainable``'s order): W1 ..
    WL, b1 .. bL, then one per gamma that is not None. ``L``: the layer count, when ``params``
    holds no arrays yet (a gradient's ``Params``)."""
    L = params.L if L is None else L
    params.Ws[:] = views[:L]
    params.bs[:] = views[L : 2 * L]
    rest = iter(views[2 * L :])
    params.gammas[:] = [None if g is None else next(rest) for g in params.gammas]


class GradientDescent(FlatOptimizer):
    """W := W - lr dW. Stateless. The course's update, kept as its exact expression
    (``lr * dW`` rounded, then subtracted)."""

    HYPERPARAMETERS: dict[str, Hyperparameter] = {}

    def __init__(self, params: Params, cfg: Any) -> None:
        super().__init__(params)
        self._step = np.empty_like(self._params.flat)

    def update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        np.multiply(g, lr, out=self._step)
        p -= self._step


def _named(prefix: str, buf: FlatArrays) -> dict[str, np.ndarray]:
    """The state's arrays one per parameter, [W1 .. WL, b1 .. bL] numbered from 0, as
    checkpoints have always stored them (then the gammas, with batch normalization)."""
    return {f"{prefix}{i}": a.copy() for i, a in enumerate(buf.views)}


def _load_named(prefix: str, arrays: dict[str, np.ndarray], buf: FlatArrays) -> None:
    buf.load([np.asarray(arrays[f"{prefix}{i}"], dtype=v.dtype) for i, v in enumerate(buf.views)])


class Momentum(FlatOptimizer):
    """The course's momentum: v := beta v + (1 - beta) dW; W := W - lr v (v starts at 0)."""

    HYPERPARAMETERS = {"beta": Hyperparameter(0.9, fraction(0.0, 1.0), "decay")}

    def __init__(self, params: Params, cfg: Any) -> None:
        super().__init__(params)
        self.beta = cfg.hyperparameters["beta"]
        self._v = self._state()  # [vW1 .. vWL, vb1 .. vbL]
        self._tmp = np.empty_like(self._v.flat)

    @property
    def v(self) -> list[np.ndarray]:
        return self._v.views

    RULE = "momentum"

    def update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        v, tmp = self._v.flat, self._tmp
        if self._kernel is not None:  # the same operations in one pass (nnctl.core.fused)
            self._kernel(p, g, v, *fused.as_dtype((self.beta, 1 - self.beta, lr), v.dtype))
            return
        v *= self.beta
        np.multiply(g, 1 - self.beta, out=tmp)
        v += tmp
        np.multiply(v, lr, out=tmp)
        p -= tmp

    def state(self) -> dict[str, np.ndarray]:
        return _named("v", self._v)

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        _load_named("v", arrays, self._v)


EPSILON = Hyperparameter(1e-8, positive_number, "denominator guard")
"""Adam's and RMSprop's epsilon (one config key for both)."""


def _decay_squares(s: np.ndarray, g: np.ndarray, beta2: float, scratch: np.ndarray) -> None:
    """s := beta2 s + (1 - beta2) g^2 in place, through ``scratch`` (Adam's and RMSprop's
    second moment, each operation in the formula's order)."""
    s *= beta2
    np.multiply(g, g, out=scratch)
    scratch *= 1 - beta2
    s += scratch


class Adam(FlatOptimizer):
    """Bias-corrected Adam, as in the course. With t the number of this step (1, 2, ...):
    v := b1 v + (1 - b1) dW;  s := b2 s + (1 - b2) dW^2;
    W := W - lr (v / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + epsilon).

    The step runs in place over the flat buffers through two scratch buffers allocated once: a
    step allocates nothing, and each operation is the formula's own, in its order, so the
    result is bit for bit that of the expression above.
    """

    HYPERPARAMETERS = {
        "beta1": Hyperparameter(0.9, fraction(0.0, 1.0), "first-moment decay"),
        "beta2": Hyperparameter(0.999, fraction(0.0, 1.0), "second-moment decay"),
        "epsilon": EPSILON,
    }

    RULE = "adam"

    def __init__(self, params: Params, cfg: Any) -> None:
        super().__init__(params)
        hp = cfg.hyperparameters
        self.beta1, self.beta2, self.epsilon = hp["beta1"], hp["beta2"], hp["epsilon"]
        self.t = 0
        self._v, self._s = self._state(), self._state()
        self._num, self._den = self._scratch()

    @property
    def v(self) -> list[np.ndarray]:
        return self._v.views

    @property
    def s(self) -> list[np.ndarray]:
        return self._s.views

    def update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        self.t += 1
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        v, s, num, den = self._v.flat, self._s.flat, self._num, self._den
        if self._kernel is not None:  # the same operations in one pass (nnctl.core.fused)
            self._kernel(
                p,
                g,
                v,
                s,
                *fused.as_dtype(
                    (
                        self.beta1,
                        1 - self.beta1,
                        self.beta2,
                        1 - self.beta2,
                        c1,
                        c2,
                        lr,
                        self.epsilon,
                    ),
                    v.dtype,
                ),
            )
            return
        v *= self.beta1
        np.multiply(g, 1 - self.beta1, out=num)
        v += num
        _decay_squares(s, g, self.beta2, den)
        np.divide(v, c1, out=num)
        num *= lr
        np.divide(s, c2, out=den)
        np.sqrt(den, out=den)
        den += self.epsilon
        num /= den
        p -= num

    def state(self) -> dict[str, np.ndarray]:
        return {**_named("v", self._v), **_named("s", self._s), "t": np.array(self.t)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        _load_named("v", arrays, self._v)
        _load_named("s", arrays, self._s)
        self.t = int(arrays["t"])


class RMSprop(FlatOptimizer):
    """The course's RMSprop: s := b2 s + (1 - b2) dW^2;  W := W - lr dW / (sqrt(s) + epsilon)
    (s starts at 0, no bias correction, as the lecture writes it). Its decay is named ``beta2``
    as in the course, where it is Adam's second moment without the first.

    Like Adam's, the step runs in place through two scratch buffers, each operation the
    formula's own in its order.
    """

    HYPERPARAMETERS = {
        "beta2": Hyperparameter(0.9, fraction(0.0, 1.0), "squared-gradient decay"),
        "epsilon": EPSILON,
    }

    RULE = "rmsprop"

    def __init__(self, params: Params, cfg: Any) -> None:
        super().__init__(params)
        hp = cfg.hyperparameters
        self.beta2, self.epsilon = hp["beta2"], hp["epsilon"]
        self._s = self._state()  # [sW1 .. sWL, sb1 .. sbL]
        self._num, self._den = self._scratch()  # lr dW, then the update; the denominator

    @property
    def s(self) -> list[np.ndarray]:
        return self._s.views

    def update(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        s, num, den = self._s.flat, self._num, self._den
        if self._kernel is not None:  # the same operations in one pass (nnctl.core.fused)
            constants = (self.beta2, 1 - self.beta2, lr, self.epsilon)
            self._kernel(p, g, s, *fused.as_dtype(constants, s.dtype))
            return
        _decay_squares(s, g, self.beta2, den)
        np.multiply(g, lr, out=num)
        np.sqrt(s, out=den)
        den += self.epsilon
        num /= den
        p -= num

    def state(self) -> dict[str, np.ndarray]:
        return _named("s", self._s)

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        _load_named("s", arrays, self._s)


OPTIMIZERS: dict[str, type] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
    "rmsprop": RMSprop,
}
