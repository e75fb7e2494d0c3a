"""The built-in suite: small random networks covering every hidden activation (alone and mixed),
depth, output/loss pair and weight scale, each checked by ``numeric.check_case``; and batch
normalization (gamma, beta and the gradient through the batch statistics) on the scale-1
networks with hidden layers: every hidden layer normalized in the one-hidden-layer and the
mixed networks, only the first in the two-hidden-layer ones (a normalized layer beside a plain
one), each on SUITE_M_NORM examples of its own.

The suite is built from the tables (``ACTIVATIONS``, ``LOSSES`` with each loss's
``check_targets``, ``KEYWORDS``), so a new activation, loss or cost keyword joins it by adding a
table entry.
"""

from __future__ import annotations

import itertools

import numpy as np

from nnctl.commands.gradcheck.keywords import (
    KEYWORDS,
    cost_keywords,
    note_random_off,
    note_unknown_keywords,
)
from nnctl.commands.gradcheck.numeric import (
    DEFAULT_EPS,
    DEFAULT_MAX_COORDS,
    DEFAULT_SEED,
    DEFAULT_TOL,
    Case,
    check_case,
    check_settings,
)
from nnctl.commands.gradcheck.report import Report
from nnctl.core import network as model
from nnctl.system import ConfigError

# The suite: every hidden activation at depths 1..4, every loss, these weight scales.
SUITE_DEPTHS = (1, 2, 3, 4)
SUITE_HIDDEN_UNITS = (5, 4, 3)  # widths of hidden layers 1, 2, 3
SUITE_SCALES = (0.5, 1.0, 2.0)  # W_l = scale * randn / sqrt(n_{l-1}), b_l = scale/2 * randn
SUITE_N_X = 4
SUITE_M = 6
# Batch-normalized networks get examples of their own, more of them: over 6 examples a unit's
# variance can be small enough that the normalization's curvature makes the central difference's
# eps^2 error visible (measured up to 4.5e-8 at eps 1e-5, falling as eps^2)
SUITE_M_NORM = 16


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
    weighs = [n for n, kw in KEYWORDS.items() if n in known and kw.weighs]
    note_random_off(
        report, [kw.config_key or n for n, kw in KEYWORDS.items() if n in known and kw.random]
    )
    note_unknown_keywords(report)

    unweighed = [n for n, loss in LOSSES.items() if not loss.weighs]
    if weighs and unweighed:
        report.notices.append(
            f"{', '.join(unweighed)}: the cost takes no per-example weights (no w parameter); "
            "checked unweighted only"
        )
    cases, normalized = [], []
    # batch normalization's gammas from a generator of their own, and its cases after all the
    # others: the plain suite draws (and checks) the same networks as it would without them
    norm_rng = rng.spawn(1)[0]
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
            # (when cost_and_gradients takes batch normalization's gradients of gamma)
            flags = _normalized(hidden) if scale == 1.0 and "dgammas" in known else None
            if flags is not None:
                bn = model.BatchNorm(flags)
                n_norm = [n for n, on in zip(dims[1:], flags) if on]
                # gamma around 1 and beta around 0, off their start so that no term vanishes
                gammas = iter(1 + 0.5 * norm_rng.standard_normal((n, 1)) for n in n_norm)
                norm = [next(gammas) if on else None for on in flags]
                stats = [np.zeros_like(b) if on else None for b, on in zip(bs, flags)]
                params = model.Params(
                    [W.copy() for W in Ws], [b.copy() for b in bs], norm, stats, list(stats)
                )
                X_norm = norm_rng.standard_normal((SUITE_N_X, SUITE_M_NORM))
                Y_norm = targets.make(norm_rng, targets.n_out, SUITE_M_NORM)
                which = "all hidden" if all(flags) else "hidden layer 1"
                normalized.append(
                    Case(
                        f"{base}, batch_norm ({which})",
                        (kind, f"{head}, batch_norm"),
                        params,
                        X_norm,
                        Y_norm,
                        model.Architecture.build([*hidden, loss.output], loss_name, bn),
                    )
                )
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
            # Per-example weights on the scale-1 networks, with the penalties (whose divisor
            # becomes the sum of the weights)
            for name in weighs if scale == 1.0 and loss.weighs else ():
                extra = "".join(f", {n}={v}" for n, v in penalties.items())
                cases.append(
                    Case(
                        f"{base}, {name}{extra}",
                        (kind, f"{head}, {', '.join([name, *penalties])}"),
                        model.Params(Ws, bs).copy(),
                        X,
                        Y,
                        arch,
                        {name: KEYWORDS[name].check_value(SUITE_M), **penalties},
                    )
                )
    return cases + normalized


def _normalized(hidden: tuple[str, ...]) -> tuple[bool, ...] | None:
    """Which hidden layers a batch-normalized variant of a network normalizes, or None for no
    variant (see the module docstring)."""
    if len(hidden) == 1 or len(set(hidden)) > 1:
        return (True,) * len(hidden)
    if len(hidden) == 2:
        return (True, False)
    return None


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
