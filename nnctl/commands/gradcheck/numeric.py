"""One network's gradient check, in float64.

What is checked is ``model.cost_and_gradients`` (analytic gradients g); the reference is the
cost J computed independently from ``model.forward`` and ``arch.loss.cost`` (plus any penalty
term a keyword such as ``l2`` adds; with per-example ``weights``, the weighted mean of the loss
of each example computed alone), differentiated numerically:

    ĝ_i = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        for sampled coordinates i of each array,
    ĝ_v = (J(θ + ε v)   − J(θ − ε v))   / 2ε        for one random unit direction v per array,

and compared by the relative error (``report.relative_error``).

ReLU kinks: a finite difference that straddles a point where some hidden pre-activation
crosses 0 measures the average of two slopes, not the derivative. A perturbation whose θ ± εe
changes the sign pattern of any hidden layer's output (``A > 0``, which is ``Z > 0`` for relu,
leaky_relu, tanh and linear) is therefore not compared: sampled coordinates are redrawn,
exhaustively checked coordinates are skipped and counted, a direction is redrawn. An array for
which nothing at all was compared (no coordinate, no direction) is *unchecked*: not a pass, so
the report does not pass either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.commands.gradcheck.keywords import KEYWORDS
from nnctl.commands.gradcheck.report import (
    ArrayCheck,
    Report,
    finite_or_none,
    noise_floor,
    relative_error,
)
from nnctl.core import network as model
from nnctl.system import ConfigError, blas_threads

DEFAULT_EPS = 1e-5
DEFAULT_TOL = 1e-7
DEFAULT_EXAMPLES = 8
DEFAULT_MAX_COORDS = 50
DEFAULT_SEED = 0


@dataclass
class Case:
    """One network to check: float64 params, X: (n_x, m), Y: (n_L, m), keyword arguments."""

    name: str
    group: tuple[str, str]
    params: model.Params
    X: np.ndarray
    Y: np.ndarray
    arch: model.Architecture
    kwargs: dict[str, Any] = field(default_factory=dict)


def check_settings(eps: float, tol: float, examples: int, max_coords: int) -> None:
    """Raises ConfigError naming the first invalid option."""
    if not (np.isfinite(eps) and 0 < eps < 1):
        raise ConfigError(
            f"--eps: must be a step size between 0 and 1 (exclusive), got {eps}; e.g. 1e-5"
        )
    if not (np.isfinite(tol) and 0 < tol < 1):
        raise ConfigError(
            f"--tol: must be a relative error between 0 and 1 (exclusive), got {tol}; e.g. 1e-7"
        )
    if examples < 1:
        raise ConfigError(f"--examples: must be at least 1, got {examples}")
    if max_coords < 1:
        raise ConfigError(f"--max-coords: must be at least 1, got {max_coords}")


def _numeric_cost(case: Case, params: model.Params) -> tuple[float, list[np.ndarray]]:
    """J(params) from the forward pass and the loss alone, and the hidden sign patterns. With
    batch normalization, as in training: the examples' own mean and variance (so the
    differences go through the batch statistics too)."""
    AL, ZL, cache = model.forward(params, case.X, case.arch, norm_cache=[])
    cost, m = case.arch.loss.cost, case.X.shape[1]
    w = next((v for n, v in case.kwargs.items() if n in KEYWORDS and KEYWORDS[n].weighs), None)
    if w is None:
        J = cost(ZL, AL, case.Y)
    else:
        each = [cost(ZL[:, i : i + 1], AL[:, i : i + 1], case.Y[:, i : i + 1]) for i in range(m)]
        J = float(np.dot(w, each) / np.sum(w))
        m = float(np.sum(w))
    for name, value in case.kwargs.items():
        kw = KEYWORDS.get(name)
        if kw is not None and kw.penalty is not None:
            J += kw.penalty(value, params, m)
    return J, [A > 0 for A in cache[1:]]


def _same(p: list[np.ndarray], q: list[np.ndarray]) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(p, q))


def check_case(
    case: Case, eps: float, tol: float, max_coords: int, rng: np.random.Generator, report: Report
) -> None:
    """Compares every parameter array of one network; appends ArrayChecks to ``report``."""
    # The products here are small (a few examples): more BLAS threads only add start-up cost
    # (docs/developers/measured-core.md). A non-finite cost is reported as a failed check
    # (error null in JSON), not as warnings.
    with blas_threads(1), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _check_case(case, eps, tol, max_coords, rng, report)


def _check_case(
    case: Case, eps: float, tol: float, max_coords: int, rng: np.random.Generator, report: Report
) -> None:
    params = case.params
    dgammas: list[np.ndarray | None] = []
    extra = {} if case.arch.batch_norm is None else {"dgammas": dgammas}
    cost, dWs, dbs = model.cost_and_gradients(
        params.copy(), case.X, case.Y, case.arch, **extra, **case.kwargs
    )
    J0, pattern0 = _numeric_cost(case, params)
    cost_err = relative_error(cost, J0)
    report.cost_checks.append(
        {
            "network": case.name,
            "cost": finite_or_none(float(cost)),
            "recomputed_cost": finite_or_none(J0),
            "relative_error": finite_or_none(cost_err),
            "passed": bool(cost_err < tol),
        }
    )

    def central(array: np.ndarray, step: Callable[[np.ndarray, float], None]) -> float | None:
        """(J(θ+εd) − J(θ−εd)) / 2ε, or None when ±εd crosses a kink. Restores ``array``."""
        saved = array.copy()
        step(array, eps)
        Jp, pp = _numeric_cost(case, params)
        array[...] = saved
        step(array, -eps)
        Jm, pm = _numeric_cost(case, params)
        array[...] = saved
        if not (_same(pp, pattern0) and _same(pm, pattern0)):
            return None
        return (Jp - Jm) / (2 * eps)

    arrays = []
    for l in range(1, params.L + 1):
        arrays.append((f"W{l}", params.Ws[l - 1], dWs[l - 1]))
        if params.normalized(l - 1):  # beta in b's place, and gamma
            arrays.append((f"gamma{l}", params.gammas[l - 1], dgammas[l - 1]))
            arrays.append((f"beta{l}", params.bs[l - 1], dbs[l - 1]))
        else:
            arrays.append((f"b{l}", params.bs[l - 1], dbs[l - 1]))
    for pname, P, G in arrays:
        if G.shape != P.shape:
            report.checks.append(
                ArrayCheck(case.name, pname, P.shape, case.group, 0, 0, 1.0, None, "failed")
            )
            continue
        exhaustive = P.size <= max_coords
        order = np.arange(P.size) if exhaustive else rng.permutation(P.size)
        g_list, h_list, skipped = [], [], 0
        for i in order:
            if len(g_list) == max_coords:
                break

            def bump(a: np.ndarray, d: float, i: int = int(i)) -> None:
                a.flat[i] += d

            h = central(P, bump)
            if h is None:
                skipped += 1
                continue
            g_list.append(G.flat[i])
            h_list.append(h)
        g, h = np.array(g_list), np.array(h_list)
        coord_err = relative_error(g, h, noise_floor(J0, eps, tol, g.size)) if g.size else 0.0

        direction_err = None
        g_norm = np.linalg.norm(G)
        for _ in range(10):  # a direction crossing a kink is redrawn
            # A random unit vector tilted towards g: a purely random v is nearly orthogonal to
            # g now and then, and the relative error of a near-zero g.v is rounding noise.
            v = rng.standard_normal(P.shape)
            v /= np.linalg.norm(v)
            if g_norm > 0:
                v = np.copysign(1.0, np.sum(v * G)) * v + G / g_norm  # norm in [1, 2]
                v /= np.linalg.norm(v)
            hv = central(P, lambda a, d, v=v: np.add(a, d * v, out=a))
            if hv is not None:
                direction_err = relative_error(float(np.sum(G * v)), hv, noise_floor(J0, eps, tol))
                break
        if not g.size and direction_err is None:
            status = "unchecked"  # nothing compared is not a pass
        elif coord_err < tol and (direction_err is None or direction_err < tol):
            status = "passed"
        else:
            status = "failed"
        report.checks.append(
            ArrayCheck(
                case.name,
                pname,
                tuple(P.shape),
                case.group,
                int(g.size),
                skipped,
                coord_err,
                direction_err,
                status,
                float(np.sum((g - h) ** 2)),
                float(np.sum(g * g)),
                float(np.sum(h * h)),
            )
        )
