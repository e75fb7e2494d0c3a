"""Gradient checking: the backward pass against central differences of the cost, in float64.

What is checked is ``model.cost_and_gradients`` (analytic gradients g); the reference is the
cost J computed independently from ``model.forward`` and ``arch.loss.cost`` (plus any penalty
term a keyword such as ``l2`` adds), differentiated numerically:

    ĝ_i = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        for sampled coordinates i of each array,
    ĝ_v = (J(θ + ε v)   − J(θ − ε v))   / 2ε        for one random unit direction v per array,

and compared by the relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) (0 when both are exactly 0).

ReLU kinks: a finite difference that straddles a point where some hidden pre-activation
crosses 0 measures the average of two slopes, not the derivative. A perturbation whose θ ± εe
changes the sign pattern of any hidden layer's output (``A > 0``, which is ``Z > 0`` for relu,
leaky_relu, tanh and linear) is therefore not compared: sampled coordinates are redrawn,
exhaustively checked coordinates are skipped and counted, a direction is redrawn. An array for
which nothing at all was compared (no coordinate, no direction) is *unchecked*: not a pass, so
the report does not pass either.

Choosing the point (configs and runs, ``choose_examples``). A unit whose Z is exactly 0 sits on
the kink for every step (the spiral's first example is the origin and biases start at 0), so
the examples are chosen, in dataset order, among those *clear of the kinks*: every hidden
pre-activation whose sign pattern can flip satisfies |Z_l| > KINK_MARGIN · r_l, where

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

The default suite is built from the tables (``ACTIVATIONS``, ``LOSSES`` with each loss's
``check_targets``, ``KEYWORDS``), so a new activation, loss or cost keyword joins it by adding a
table entry.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.core import network as model
from nnctl.system import ConfigError

DEFAULT_EPS = 1e-5
DEFAULT_TOL = 1e-7
DEFAULT_EXAMPLES = 8
DEFAULT_MAX_COORDS = 50
DEFAULT_SEED = 0
KINK_MARGIN = 2.0  # an example is used when every |Z| exceeds this many times the reach of a step
KINK_JITTER = 1e-3  # bias jitter (times the layer's input norm) when no example is clear of kinks
SCAN_CHUNK = 256  # examples scanned at a time for clear ones
STREAMED_SCAN = 8 * SCAN_CHUNK  # of a streamed file, the examples read to scan

# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Keyword:
    """A keyword argument of ``cost_and_gradients`` that the check knows how to exercise.

    check_value: the value the suite passes (None: leave it at its default).
    penalty(value, params, m) -> float: what the keyword adds to the cost (None: nothing).
    random: the keyword switches on randomness (dropout); the check always leaves it off.
    config_key: the config key that turns it on, when its name differs.
    """

    check_value: Any = None
    penalty: Callable[[Any, model.Params, int], float] | None = None
    random: bool = False
    config_key: str | None = None  # the config key that sets it, when not the same name


def l2_penalty(lambd: float, params: model.Params, m: int) -> float:
    """λ/(2m) Σ_l ‖W_l‖², the course's L2 cost term (biases are not penalised)."""
    return float(lambd / (2 * m) * sum(np.sum(W * W) for W in params.Ws))


KEYWORDS: dict[str, Keyword] = {
    "l2": Keyword(check_value=0.7, penalty=l2_penalty),
    "masks": Keyword(random=True, config_key="dropout"),
    "out": Keyword(),  # where the gradients are written (an optimizer's buffer): not the maths
}
"""Known keyword arguments of ``cost_and_gradients``, matched by name against its signature
(and against config keys of the same name when checking a config or run)."""

# The suite: every hidden activation at depths 1..4, every loss, these weight scales.
SUITE_DEPTHS = (1, 2, 3, 4)
SUITE_HIDDEN_UNITS = (5, 4, 3)  # widths of hidden layers 1, 2, 3
SUITE_SCALES = (0.5, 1.0, 2.0)  # W_l = scale * randn / sqrt(n_{l-1}), b_l = scale/2 * randn
SUITE_N_X = 4
SUITE_M = 6


# --------------------------------------------------------------------------- results


@dataclass
class ArrayCheck:
    """The comparison for one parameter array of one network."""

    network: str
    parameter: str
    shape: tuple[int, ...]
    group: tuple[str, str]  # (hidden layers, output + loss): the suite reports by group
    coords: int  # coordinates compared
    skipped: int  # coordinates not compared because ±ε crosses a kink
    coord_error: float  # ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) over the compared coordinates
    direction_error: float | None  # the same for the directional derivative (None: skipped)
    status: str  # "passed", "failed", or "unchecked" (nothing compared: every step crossed a kink)
    # sums of squares over the compared coordinates, for the error over all arrays
    _diff2: float = field(default=0.0, repr=False)
    _g2: float = field(default=0.0, repr=False)
    _h2: float = field(default=0.0, repr=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def max_error(self) -> float:
        errors = [self.coord_error, self.direction_error or 0.0]
        return float("nan") if any(np.isnan(errors)) else max(errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "parameter": self.parameter,
            "shape": list(self.shape),
            "size": int(np.prod(self.shape)),
            "coordinates": self.coords,
            "skipped_at_kinks": self.skipped,
            "relative_error": _finite(self.coord_error),
            "direction_relative_error": _finite(self.direction_error),
            "status": self.status,
            "passed": self.passed,
        }


@dataclass
class Report:
    """All checks of one gradcheck invocation."""

    target: str
    eps: float
    tol: float
    seed: int
    checks: list[ArrayCheck] = field(default_factory=list)
    cost_checks: list[dict[str, Any]] = field(default_factory=list)  # returned cost vs J(θ)
    notices: list[str] = field(default_factory=list)
    examples: list[int] | None = None  # training examples used (a config or run; None: the suite)
    bias_jitter: float | None = None  # largest bias shift when the point was moved off the kinks
    # what to do about an unchecked array, for the verdict (check_suite and check_target set it)
    unchecked_advice: str = (
        "move the check point off the kink (a hidden pre-activation is 0 for every example)"
    )

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and all(c["passed"] for c in self.cost_checks)

    @property
    def max_relative_error(self) -> float:
        errors = [c.max_error for c in self.checks]
        return float("nan") if any(np.isnan(errors)) else max(errors, default=0.0)

    @property
    def networks(self) -> list[str]:
        return list(dict.fromkeys(c.network for c in self.checks))

    def failures(self) -> list[ArrayCheck]:
        return [c for c in self.checks if c.status == "failed"]

    def unchecked(self) -> list[ArrayCheck]:
        return [c for c in self.checks if c.status == "unchecked"]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "passed": self.passed,
            "max_relative_error": _finite(self.max_relative_error),
            "overall_relative_error": _finite(overall_error(self.checks)),
            "eps": self.eps,
            "tol": self.tol,
            "seed": self.seed,
            "networks": len(self.networks),
            "unchecked": len(self.unchecked()),
            "examples": self.examples,
            "perturbed": self.bias_jitter is not None,
            "bias_jitter": self.bias_jitter,
            "checks": [c.to_json() for c in self.checks],
            "cost_checks": self.cost_checks,
            "notices": self.notices,
        }


def _finite(x: float | None) -> float | None:
    """JSON has no NaN: a non-finite error (a NaN cost) is reported as null (and fails)."""
    return x if x is not None and np.isfinite(x) else None


def relative_error(g: np.ndarray | float, h: np.ndarray | float, floor: float = 0.0) -> float:
    """‖g − h‖ / max(‖g‖ + ‖h‖, floor); 0 when g and h are both exactly zero."""
    g, h = (
        np.atleast_1d(np.asarray(g, dtype=np.float64)),
        np.atleast_1d(np.asarray(h, dtype=np.float64)),
    )
    num = float(np.linalg.norm(g - h))
    den = max(float(np.linalg.norm(g) + np.linalg.norm(h)), floor)
    return 0.0 if num == 0.0 else num / den


# Rounding noise of one central difference: J is computed with an absolute error of a few ulps
# of |J|, so (J+ − J−)/2ε carries about ROUNDING_ULPS·u·|J|/ε of noise, whatever the gradient.
# For an array whose gradient is itself that small (deep saturated networks), the relative error
# measures only that noise; the denominator is therefore floored at noise/tol, so a difference
# at the noise level passes while any larger one is judged relatively as usual.
ROUNDING_ULPS = 8.0


def noise_floor(J: float, eps: float, tol: float, k: int = 1) -> float:
    """The denominator floor for k compared central differences of a cost J."""
    return float(
        np.sqrt(max(k, 1))
        * ROUNDING_ULPS
        * np.finfo(np.float64).eps
        * max(abs(J), 1e-300)
        / eps
        / tol
    )


def overall_error(checks: list[ArrayCheck]) -> float:
    """The relative error over the compared coordinates of all the given arrays at once."""
    diff = np.sqrt(sum(c._diff2 for c in checks))
    den = np.sqrt(sum(c._g2 for c in checks)) + np.sqrt(sum(c._h2 for c in checks))
    return 0.0 if diff == 0.0 else float(diff / den)


# --------------------------------------------------------------------------- one network


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
    """J(params) from the forward pass and the loss alone, and the hidden sign patterns."""
    AL, ZL, cache = model.forward(params, case.X, case.arch)
    J = case.arch.loss.cost(ZL, AL, case.Y)
    for name, value in case.kwargs.items():
        kw = KEYWORDS.get(name)
        if kw is not None and kw.penalty is not None:
            J += kw.penalty(value, params, case.X.shape[1])
    return J, [A > 0 for A in cache[1:]]


def _same(p: list[np.ndarray], q: list[np.ndarray]) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(p, q))


def check_case(
    case: Case, eps: float, tol: float, max_coords: int, rng: np.random.Generator, report: Report
) -> None:
    """Compares every parameter array of one network; appends ArrayChecks to ``report``."""
    # The products here are small (a few examples); BLAS threads only add start-up cost, and
    # on a busy machine made the cat network's check ten times slower.
    from threadpoolctl import threadpool_limits

    # A non-finite cost is reported as a failed check (error null in JSON), not as warnings.
    with threadpool_limits(limits=1), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _check_case(case, eps, tol, max_coords, rng, report)


def _check_case(
    case: Case, eps: float, tol: float, max_coords: int, rng: np.random.Generator, report: Report
) -> None:
    params = case.params
    cost, dWs, dbs = model.cost_and_gradients(
        params.copy(), case.X, case.Y, case.arch, **case.kwargs
    )
    J0, pattern0 = _numeric_cost(case, params)
    cost_err = relative_error(cost, J0)
    report.cost_checks.append(
        {
            "network": case.name,
            "cost": _finite(float(cost)),
            "recomputed_cost": _finite(J0),
            "relative_error": _finite(cost_err),
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

    arrays = [
        (f"{kind}{l}", P, G)
        for l in range(1, params.L + 1)
        for kind, P, G in (("W", params.Ws[l - 1], dWs[l - 1]), ("b", params.bs[l - 1], dbs[l - 1]))
    ]
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
            hv = central(P, lambda a, d: np.add(a, d * v, out=a))
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


# --------------------------------------------------------------------------- keyword arguments


def cost_keywords() -> dict[str, inspect.Parameter]:
    """Keyword parameters of ``cost_and_gradients`` beyond (params, X, Y, arch)."""
    sig = inspect.signature(model.cost_and_gradients)
    return {
        n: p
        for n, p in list(sig.parameters.items())[4:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _unknown_keywords(report: Report) -> None:
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


def _random_off_notice(report: Report, names: list[str]) -> None:
    if names:
        report.notices.append(
            f"{', '.join(names)} switched off during the check (it makes the cost random)"
        )


# --------------------------------------------------------------------------- the default suite


def _suite_cases(rng: np.random.Generator, report: Report) -> list[Case]:
    from nnctl.core import LOSSES, hidden_activation_names

    hidden_names = hidden_activation_names()
    # Uniform hidden layers cover each activation; in the 'mixed' networks (depth 4, rotations of
    # the table) neighbouring layers differ, which catches a backward pass that applies one
    # layer's derivative to another (invisible when all hidden layers are alike).
    stacks: list[tuple[str, ...]] = [()]
    for depth in SUITE_DEPTHS[1:]:
        stacks += [(a,) * (depth - 1) for a in hidden_names]
    k = len(hidden_names)
    stacks += [tuple(hidden_names[(i + j) % k] for j in range(3)) for i in range(k)]

    known = cost_keywords()
    penalties = {
        n: kw.check_value
        for n, kw in KEYWORDS.items()
        if n in known and kw.penalty is not None and kw.check_value is not None
    }
    _random_off_notice(
        report, [kw.config_key or n for n, kw in KEYWORDS.items() if n in known and kw.random]
    )
    _unknown_keywords(report)

    cases = []
    for loss_name, loss in LOSSES.items():
        targets = loss.check_targets
        if targets is None:
            raise ConfigError(
                f"gradcheck cannot make targets for the loss {loss_name!r}; "
                "give its entry in nnctl.core.losses.LOSSES check_targets"
            )
        for scale, hidden in itertools.product(SUITE_SCALES, stacks):
            dims = [SUITE_N_X, *SUITE_HIDDEN_UNITS[: len(hidden)], targets.n_out]
            Ws = [
                scale * rng.standard_normal((n, n_prev)) / np.sqrt(n_prev)
                for n_prev, n in zip(dims[:-1], dims[1:])
            ]
            bs = [scale / 2 * rng.standard_normal((n, 1)) for n in dims[1:]]
            X = rng.standard_normal((SUITE_N_X, SUITE_M))
            Y = targets.make(rng, targets.n_out, SUITE_M)
            arch = model.Architecture.build([*hidden, loss.output], loss_name)
            head = f"{loss.output}/{loss_name}"
            kind = "none" if not hidden else hidden[0] if len(set(hidden)) == 1 else "mixed"
            group = (kind, head)
            base = f"{'-'.join(hidden) or 'no hidden'} -> {head}, scale {scale}"
            cases.append(Case(base, group, model.Params(Ws, bs), X, Y, arch))
            # Penalty keywords (e.g. l2) on the scale-1 networks: their cost term and gradient
            # term are checked together with everything else.
            if penalties and scale == 1.0:
                extra = ", ".join(f"{n}={v}" for n, v in penalties.items())
                cases.append(
                    Case(
                        f"{base}, {extra}",
                        (kind, f"{head}, {', '.join(penalties)}"),
                        model.Params(Ws, bs).copy(),
                        X,
                        Y,
                        arch,
                        dict(penalties),
                    )
                )
    return cases


def check_suite(
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    max_coords: int = DEFAULT_MAX_COORDS,
    seed: int = DEFAULT_SEED,
) -> Report:
    """The built-in suite: every hidden activation, output/loss pair, depth and scale."""
    check_settings(eps, tol, 1, max_coords)
    report = Report(
        "built-in suite",
        eps,
        tol,
        seed,
        unchecked_advice="try another --seed (it draws other random networks and examples)",
    )
    rng = np.random.default_rng(seed)
    for case in _suite_cases(rng, report):
        check_case(case, eps, tol, max_coords, rng, report)
    return report


# --------------------------------------------------------------------------- choosing the point


def _flips_at_zero(act: Any) -> bool:
    """Whether a layer's sign pattern ``A > 0`` changes where Z crosses 0 (not sigmoid's)."""
    A = act.forward(np.array([[-1e-3, 1e-3]]))
    return bool((A[0, 0] > 0) != (A[0, 1] > 0))


def clear_examples(
    params: model.Params, X: np.ndarray, arch: model.Architecture, eps: float, n: int
) -> np.ndarray:
    """Indices of the first n columns of X (n_x, m) clear of the kinks: every hidden Z_l whose
    sign pattern can flip has |Z_l| > KINK_MARGIN · r_l (r_l: see the module docstring), so no
    step of size eps in any one parameter array changes the sign pattern. Fewer if fewer are."""
    flips = [_flips_at_zero(act) for act in arch.hidden]
    norms = [float(np.linalg.norm(W, 2)) for W in params.Ws[:-1]]
    chosen: list[int] = []
    for start in range(0, X.shape[1], SCAN_CHUNK):
        A = X[:, start : start + SCAN_CHUNK]
        reach = np.zeros(A.shape[1])
        ok = np.ones(A.shape[1], dtype=bool)
        for W, b, act, flip, norm in zip(params.Ws[:-1], params.bs[:-1], arch.hidden, flips, norms):
            reach = np.maximum(eps * np.maximum(1.0, np.linalg.norm(A, axis=0)), norm * reach)
            Z = model.linear_forward(A, W, b)
            if flip:
                ok &= np.all(np.abs(Z) > KINK_MARGIN * reach, axis=0)
            A = act.forward(Z)
        chosen += (start + np.flatnonzero(ok)).tolist()
        if len(chosen) >= n:
            break
    return np.array(chosen[:n], dtype=np.intp)


def jitter_biases(
    params: model.Params, X: np.ndarray, arch: model.Architecture, rng: np.random.Generator
) -> model.Params:
    """A copy with each hidden bias moved by KINK_JITTER · s_l · u, u uniform in ±[0.5, 1],
    s_l = max(1, RMS over the examples of ‖a_{l-1}‖). X: (n_x, m)."""
    params = params.copy()
    A = X
    for W, b, act in zip(params.Ws[:-1], params.bs[:-1], arch.hidden):
        scale = max(1.0, float(np.sqrt(np.mean(np.sum(A * A, axis=0)))))
        b += KINK_JITTER * scale * rng.uniform(0.5, 1.0, b.shape) * rng.choice([-1.0, 1.0], b.shape)
        A = act.forward(model.linear_forward(A, W, b))
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


def _ranges(indices: list[int], limit: int = 8) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'; more than ``limit`` runs end with ', ...'."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    return ", ".join(text) + (", ..." if len(runs) > limit else "")


# --------------------------------------------------------------------------- a config or a run


def _config_kwargs(cfg: Any, report: Report) -> dict[str, Any]:
    """Keyword arguments for cost_and_gradients from config keys of the same name."""
    known = cost_keywords()
    kwargs, off = {}, []
    for name, kw in KEYWORDS.items():
        key = kw.config_key or name
        value = getattr(cfg, key, None)
        if name not in known or value is None:
            continue
        if kw.random:
            off.append(f"{key} ({value})")
        else:
            kwargs[name] = value
    _random_off_notice(report, off)
    _unknown_keywords(report)
    return kwargs


def check_target(
    spec: str,
    examples: int = DEFAULT_EXAMPLES,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    max_coords: int = DEFAULT_MAX_COORDS,
    seed: int = DEFAULT_SEED,
    runs_dir: Path | None = None,
) -> Report:
    """A config file (fresh parameters from its init and seed) or a run (its trained
    parameters), on the first ``examples`` training examples of its dataset, in float64.

    A path to an existing file, or one ending in .yaml/.yml, is a config; anything else is
    resolved as a run (id, unique prefix, ``latest`` or a run directory).
    Raises ConfigError, DataError or RunError.
    """
    from nnctl.config import load_config
    from nnctl.runs import find_run, load_params, load_run_config
    from nnctl.training import bind

    check_settings(eps, tol, examples, max_coords)
    p = Path(spec)
    if p.is_file() or p.suffix in (".yaml", ".yml"):
        cfg, run_dir, what = load_config(p), None, f"config {spec}"
    else:
        run_dir = find_run(spec, runs_dir)
        cfg, what = load_run_config(run_dir), f"run {run_dir.name}"
    # Loaded directly in float64, so a float32 config's data is checked at full precision.
    dtype = cfg.dtype
    bound = bind(dataclasses.replace(cfg, dtype="float64"))
    cfg, ds = bound.cfg, bound.dataset
    if run_dir is None:
        params = model.initialize_parameters(cfg.layer_dims, cfg.init, cfg.seed, np.float64)
    else:
        params = load_params(run_dir, cfg.layer_dims, np.float64)
    report = Report(what, eps, tol, seed)
    if dtype != "float64":
        report.notices.append(
            f"{dtype} config: parameters and data converted to float64 for the check"
        )
    arch = cfg.arch
    report.unchecked_advice = (
        f"try a smaller --eps (e.g. {eps / 10:g}): no training example keeps its hidden pre-activations "
        "further from the kinks than a step of this size can move them"
    )
    X_train = ds.X_train
    if hasattr(X_train, "head"):
        # a streamed file (nnctl.data.stream): only its first examples are read, which is all the
        # check scans for clear ones
        X_train = X_train.head(min(X_train.shape[1], STREAMED_SCAN))
        report.notices.append(
            f"streamed data: the first {X_train.shape[1]} of {ds.X_train.shape[1]} training "
            "examples read to choose the checked ones"
        )
    point = choose_examples(params, X_train, arch, eps, examples, seed)
    idx, params, report.bias_jitter = point.examples, point.params, point.bias_jitter
    report.examples, m, n_train = idx.tolist(), len(idx), X_train.shape[1]
    if not point.clear:
        report.notices.append(
            f"no training example is clear of the ReLU kinks at eps {eps:g}, even with jittered biases: "
            f"the first {m} are checked as they are"
        )
    elif report.bias_jitter is not None:
        report.notices.append(
            f"no training example is clear of the ReLU kinks at these parameters: the hidden biases were "
            f"moved by at most {report.bias_jitter:.1e} (a jitter drawn from --seed {seed}) and the "
            "gradient is checked at that nearby point"
        )
    # examples passed over: before the last one used, or all of them when too few were clear
    last = int(idx[-1]) if m == min(examples, n_train) else n_train - 1
    passed_over = sorted(set(range(last + 1)) - set(report.examples))
    if point.clear and passed_over:
        report.notices.append(
            f"training example{'s' if len(passed_over) != 1 else ''} {_ranges(passed_over)} passed over "
            f"(a hidden pre-activation within a step of eps {eps:g} of a ReLU kink); "
            f"checking example{'s' if m != 1 else ''} {_ranges(report.examples)}"
        )
    X = np.ascontiguousarray(X_train[:, idx])
    Y = arch.loss.targets(ds.Y_train[:, idx], cfg.layer_dims[-1], np.float64)
    name = f"{cfg.name}: {' -> '.join(cfg.activations)}/{cfg.loss}, {m} examples"
    case = Case(
        name,
        (" -> ".join(cfg.activations[:-1]), f"{cfg.activations[-1]}/{cfg.loss}"),
        params,
        X,
        Y,
        arch,
        _config_kwargs(cfg, report),
    )
    check_case(case, eps, tol, max_coords, np.random.default_rng(seed), report)
    return report
