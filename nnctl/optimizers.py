"""Update rules as small classes in a table keyed by the names configs use.

The contract, shared by all: ``HYPERPARAMETERS`` on the class names its settings with their
defaults and checks (they become config keys, null unless the optimizer is chosen);
``Optimizer(params, cfg)`` creates any state (zeros shaped like the parameters) and reads its
settings from ``cfg.hyperparameters``; ``step(params, dWs, dbs, lr)`` updates ``params`` in place from one batch's
gradients; ``state()`` returns the state as named arrays and ``load_state(arrays)`` puts it
back, so a checkpoint can resume the exact same trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nnctl.checks import fraction, positive_number
from nnctl.model import Params


@dataclass(frozen=True)
class Hyperparameter:
    """One setting of an optimizer: its default, the check of a configured value (from
    ``nnctl.checks``) and what it is, for the config key's documentation."""

    default: float
    check: Callable[[Any], float]
    doc: str


class GradientDescent:
    """W := W - lr dW. Stateless. The course's update, kept as its exact expression."""

    HYPERPARAMETERS: dict[str, Hyperparameter] = {}

    def __init__(self, params: Params, cfg: Any) -> None:
        pass

    def step(self, params: Params, dWs: list[np.ndarray], dbs: list[np.ndarray], lr: float) -> None:
        for W, b, dW, db in zip(params.Ws, params.bs, dWs, dbs):
            W -= lr * dW
            b -= lr * db

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        pass


def _zeros_like(params: Params) -> list[np.ndarray]:
    return [np.zeros_like(a) for a in (*params.Ws, *params.bs)]


def _named(prefix: str, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}{i}": a for i, a in enumerate(arrays)}


def _unnamed(prefix: str, arrays: dict[str, np.ndarray], like: list[np.ndarray]) -> list[np.ndarray]:
    return [np.array(arrays[f"{prefix}{i}"], dtype=a.dtype) for i, a in enumerate(like)]


class Momentum:
    """The course's momentum: v := beta v + (1 - beta) dW; W := W - lr v (v starts at 0)."""

    HYPERPARAMETERS = {"beta": Hyperparameter(0.9, fraction(0.0, 1.0), "decay")}

    def __init__(self, params: Params, cfg: Any) -> None:
        self.beta = cfg.hyperparameters["beta"]
        self.v = _zeros_like(params)  # [vW1 .. vWL, vb1 .. vbL]

    def step(self, params: Params, dWs: list[np.ndarray], dbs: list[np.ndarray], lr: float) -> None:
        for p, g, v in zip((*params.Ws, *params.bs), (*dWs, *dbs), self.v):
            v *= self.beta
            v += (1 - self.beta) * g
            p -= lr * v

    def state(self) -> dict[str, np.ndarray]:
        return _named("v", self.v)

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.v = _unnamed("v", arrays, self.v)


class Adam:
    """Bias-corrected Adam, as in the course. With t the number of this step (1, 2, ...):
    v := b1 v + (1 - b1) dW;  s := b2 s + (1 - b2) dW^2;
    W := W - lr (v / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + epsilon).

    The step runs in place through two scratch arrays per parameter, allocated once: a step
    then allocates nothing, and each operation is the formula's own, in its order, so the
    result is bit for bit that of the expression above.
    """

    HYPERPARAMETERS = {
        "beta1": Hyperparameter(0.9, fraction(0.0, 1.0), "first-moment decay"),
        "beta2": Hyperparameter(0.999, fraction(0.0, 1.0), "second-moment decay"),
        "epsilon": Hyperparameter(1e-8, positive_number, "denominator guard"),
    }

    def __init__(self, params: Params, cfg: Any) -> None:
        hp = cfg.hyperparameters
        self.beta1, self.beta2, self.epsilon = hp["beta1"], hp["beta2"], hp["epsilon"]
        self.t = 0
        self.v = _zeros_like(params)
        self.s = _zeros_like(params)
        self._num = [np.empty_like(a) for a in self.v]  # the update's numerator, then the update
        self._den = [np.empty_like(a) for a in self.v]  # (1 - b2) dW^2, then the denominator

    def step(self, params: Params, dWs: list[np.ndarray], dbs: list[np.ndarray], lr: float) -> None:
        self.t += 1
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        for p, g, v, s, num, den in zip((*params.Ws, *params.bs), (*dWs, *dbs), self.v, self.s,
                                        self._num, self._den):
            v *= self.beta1
            np.multiply(g, 1 - self.beta1, out=num)
            v += num
            s *= self.beta2
            np.multiply(g, g, out=den)
            den *= 1 - self.beta2
            s += den
            np.divide(v, c1, out=num)
            num *= lr
            np.divide(s, c2, out=den)
            np.sqrt(den, out=den)
            den += self.epsilon
            num /= den
            p -= num

    def state(self) -> dict[str, np.ndarray]:
        return {**_named("v", self.v), **_named("s", self.s), "t": np.array(self.t)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.v = _unnamed("v", arrays, self.v)
        self.s = _unnamed("s", arrays, self.s)
        self.t = int(arrays["t"])


OPTIMIZERS: dict[str, type] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
}
