"""What a gradient check records: one ``ArrayCheck`` per parameter array, gathered in a
``Report``, and how a comparison is measured: the relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) (0 when
both are exactly 0), its denominator floored at the rounding noise of a central difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
            "relative_error": finite_or_none(self.coord_error),
            "direction_relative_error": finite_or_none(self.direction_error),
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
            "max_relative_error": finite_or_none(self.max_relative_error),
            "overall_relative_error": finite_or_none(overall_error(self.checks)),
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


def finite_or_none(x: float | None) -> float | None:
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
