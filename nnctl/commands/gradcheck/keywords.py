"""The keyword arguments of ``cost_and_gradients`` the check knows how to exercise: a penalty
term (``l2``) is checked with everything else, per-example weights (``weights``) against a cost
recomputed example by example, randomness (dropout) is switched off, and an unknown keyword is
left at its default with a notice (or refused when it has none).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.commands.gradcheck.report import Report
from nnctl.core import network as model
from nnctl.system import ConfigError


@dataclass(frozen=True)
class Keyword:
    """A keyword argument of ``cost_and_gradients`` that the check knows how to exercise.

    check_value: the value the suite passes (None: leave it at its default).
    penalty(value, params, m) -> float: what the keyword adds to the cost (None: nothing).
    random: the keyword switches on randomness (dropout); the check always leaves it off.
    config_key: the config key that turns it on, when its name differs.
    weighs: the value is per-example weights w: (m,); the reference cost is then
        sum_i w_i J_i / sum_i w_i, J_i the loss of example i alone, and penalties are divided
        by sum_i w_i instead of m. check_value: a function of m giving the weights.
    """

    check_value: Any = None
    penalty: Callable[[Any, model.Params, float], float] | None = None
    random: bool = False
    config_key: str | None = None  # the config key that sets it, when not the same name
    weighs: bool = False


def l2_penalty(lambd: float, params: model.Params, m: float) -> float:
    """λ/(2m) Σ_l ‖W_l‖², the course's L2 cost term (biases are not penalised)."""
    return float(lambd / (2 * m) * sum(np.sum(W * W) for W in params.Ws))


KEYWORDS: dict[str, Keyword] = {
    "l2": Keyword(check_value=0.7, penalty=l2_penalty),
    "masks": Keyword(random=True, config_key="dropout"),
    "out": Keyword(),  # where the gradients are written (an optimizer's buffer): not the maths
    # uneven weights, a zero among them (an example that must not count), summing to other than m
    "weights": Keyword(
        check_value=lambda m: np.resize([0.5, 2.0, 0.0, 1.0, 3.0, 1.5], m), weighs=True
    ),
    # batch normalization's outputs: the batch statistics (for the running averages) and the
    # gammas' gradients, which the check asks for itself (``numeric``)
    "norm_cache": Keyword(),
    "dgammas": Keyword(),
}
"""Known keyword arguments of ``cost_and_gradients``, matched by name against its signature
(and against config keys of the same name when checking a config or run)."""


def cost_keywords() -> dict[str, inspect.Parameter]:
    """Keyword parameters of ``cost_and_gradients`` beyond (params, X, Y, arch)."""
    sig = inspect.signature(model.cost_and_gradients)
    return {
        n: p
        for n, p in list(sig.parameters.items())[4:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def note_unknown_keywords(report: Report) -> None:
    for name, p in cost_keywords().items():
        if name in KEYWORDS:
            continue
        if p.default is inspect.Parameter.empty:
            raise ConfigError(
                f"cost_and_gradients needs the argument {name!r}, which gradcheck does not know; "
                "add it to nnctl.commands.gradcheck.KEYWORDS"
            )
        report.notices.append(
            f"cost_and_gradients({name}=...) is left at its default {p.default!r}: "
            "gradcheck does not know it (add it to nnctl.commands.gradcheck.KEYWORDS)"
        )


def note_random_off(report: Report, names: list[str]) -> None:
    if names:
        report.notices.append(
            f"{', '.join(names)} switched off during the check (it makes the cost random)"
        )
