"""The recipe applied: avoidable bias (train - baseline), variance (dev - train) and dev/test
mismatch (test - dev), each judged against a threshold and given its next steps, and which gap
to work on first (the largest one above its threshold, as the course says)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nnctl.commands.diagnose.errors import SplitErrors, resolve_baseline, split_errors
from nnctl.commands.diagnose.steps import Step, bias_steps, mismatch_steps, variance_steps
from nnctl.runs import CONFIG_FILE, LoadedRun

TOLERANCE = 0.02
"""A gap is high above two percentage points of error (classifiers), or two percent of the
training targets' variance (regression: MSE / (1 - R²) on the training split), the scale on
which the course's examples (1% vs 8% vs 10%) read. A classifier's threshold grows to two
standard errors of the gap when its splits are small, so that a handful of examples either way
is not read as a gap."""


@dataclass(frozen=True)
class Gap:
    """One of the recipe's three gaps: ``value`` = error(``upper``) - error(``lower``) (None
    when the run lacks a split to measure it), the ``threshold`` it is high above, the verdict
    in words and, when high, the next steps."""

    name: str  # "avoidable bias", "variance" or "dev/test mismatch"
    lower: str  # "baseline", "train" or "val"
    upper: str  # "train", "val" or "test"
    value: float | None
    threshold: float
    high: bool
    verdict: str
    steps: list[Step] = field(default_factory=list)

    def to_dict(self, config_file: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "between": [self.lower, self.upper],
            "value": self.value,
            "threshold": self.threshold,
            "high": self.high,
            "verdict": self.verdict,
            "steps": [s.to_dict(config_file) for s in self.steps],
        }


@dataclass(frozen=True)
class Diagnosis:
    """A run's errors, its baseline (and where it came from: --baseline, diagnose.baseline or
    default), the three gaps, the one to work on first (None: none is high) and notes on how
    far to trust the reading."""

    run_id: str
    config_file: str  # the run's own config.yaml: the steps' commands train it again, changed
    errors: SplitErrors
    baseline: float
    baseline_source: str
    gaps: list[Gap]
    focus: str | None
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        e = self.errors
        return {
            "run_id": self.run_id,
            "task": e.task,
            "metric": e.metric,
            "errors": {"baseline": self.baseline, "train": e.train, "val": e.val, "test": e.test},
            "examples": {"train": e.n_train, "val": e.n_val, "test": e.n_test},
            "baseline_source": self.baseline_source,
            "gaps": [g.to_dict(self.config_file) for g in self.gaps],
            "focus": self.focus,
            "notes": list(self.notes),
        }


def _scale(run: LoadedRun, e: SplitErrors) -> float:
    """What TOLERANCE is a share of: 1 for an error rate, the targets' variance for an MSE."""
    if e.task == "classification":
        return 1.0
    r2 = run.summary.metric("train_r2")
    if r2 is not None and r2 < 1 and e.train > 0:
        return e.train / (1 - r2)  # R² = 1 - MSE / variance
    # a perfect fit leaves no variance to read: judge against the largest error instead
    return max(v for v in (e.train, e.val, e.test, 0.0) if v is not None) or 1.0


def _threshold(e: SplitErrors, scale: float, splits: tuple[str, ...]) -> float:
    """TOLERANCE on ``scale``; for a classifier at least two standard errors of the difference
    of the ``splits``' error rates (each p(1 - p) / n, the splits independent)."""
    tol = TOLERANCE * scale
    if e.task != "classification":
        return tol
    var = 0.0
    for split in splits:
        p, n = e.of(split)
        if p is not None and n:
            var += p * (1 - p) / n
    return max(tol, 2 * math.sqrt(var))


def _judge(
    name: str,
    between: tuple[str, str],
    value: float | None,
    threshold: float,
    verdicts: tuple[str, str],
    steps: Callable[[], list[Step]],
    two_sided: bool = False,
) -> Gap:
    """The gap high (verdicts[0], with its steps) when ``value`` (or its size, ``two_sided``)
    is above ``threshold``."""
    high = value is not None and (abs(value) if two_sided else value) > threshold
    lower, upper = between
    return Gap(
        name,
        lower,
        upper,
        value,
        threshold,
        high,
        verdicts[0] if high else verdicts[1],
        steps() if high else [],
    )


def _bias(run: LoadedRun, e: SplitErrors, baseline: float, scale: float) -> Gap:
    value, threshold = e.train - baseline, _threshold(e, scale, ("train",))
    low = (
        "below the baseline: the baseline is too high, or the network fits noise"
        if value < -threshold
        else "small: the training set is fit about as well as the baseline"
    )
    high = "high: the training set is fit worse than the baseline says it could be"
    steps = functools.partial(bias_steps, run.config, run.summary)
    return _judge("avoidable bias", ("baseline", "train"), value, threshold, (high, low), steps)


def _variance(run: LoadedRun, e: SplitErrors, scale: float) -> Gap:
    dev = "val" if e.val is not None else "test" if e.test is not None else None
    if dev is None:
        low = "not measured: the run has no validation split and no test set"
        return Gap("variance", "train", "val", None, TOLERANCE * scale, False, low)
    dev_error = e.of(dev)[0]
    value = dev_error - e.train  # type: ignore[operator]
    verdicts = (
        f"high: {dev} error is well above training error (the network does much better on "
        "its training examples than on new ones)",
        f"small: {dev} error is close to training error",
    )
    threshold = _threshold(e, scale, ("train", dev))
    steps = functools.partial(variance_steps, run.config, e.val is not None)
    return _judge("variance", ("train", dev), value, threshold, verdicts, steps)


def _mismatch(run: LoadedRun, e: SplitErrors, scale: float) -> Gap:
    if e.val is None or e.test is None:
        low = "not measured: the run has no " + (
            "validation split" if e.val is None else "test set"
        )
        if e.val is None and e.test is not None:
            low += ", so a dev/test mismatch cannot be told apart from variance"
        return Gap("dev/test mismatch", "val", "test", None, TOLERANCE * scale, False, low)
    value = e.test - e.val
    threshold = _threshold(e, scale, ("val", "test"))
    side = "above" if value > 0 else "below"
    verdicts = (
        f"high: test error is well {side} dev error (the sets differ, or the dev set was overfit)",
        "small: dev and test errors agree",
    )
    steps = functools.partial(mismatch_steps, run.config)
    # test error well below dev error is a mismatch too: the sets are not alike
    return _judge("dev/test mismatch", ("val", "test"), value, threshold, verdicts, steps, True)


def _notes(run: LoadedRun, e: SplitErrors, source: str) -> list[str]:
    notes = []
    if source == "default":
        notes.append(
            "baseline 0 (the default): a human-level error estimate, or a simple model's error, "
            "is a better baseline (--baseline ERROR or the diagnose.baseline config key)"
        )
    if e.val is None and e.test is not None:
        notes.append(
            "the run has no validation split: variance is read from test - train, and a dev/test "
            "mismatch cannot be told apart from it; hold out a dev set with "
            "--set validation_fraction=0.2"
        )
    if run.summary.status not in (None, "complete"):
        notes.append(f"the run is {run.summary.status}: its scores are its last parameters'")
    return notes


def diagnose_run(run: LoadedRun, baseline: float | None = None) -> Diagnosis:
    """The recipe's reading of ``run``: ``baseline`` (the --baseline option) or the config's
    ``diagnose.baseline`` or 0. Raises OptionError for a baseline no error of the run's task can
    be, RunError for a run that recorded no scores."""
    e = split_errors(run)
    base, source = resolve_baseline(run, baseline)
    scale = _scale(run, e)
    gaps = [_bias(run, e, base, scale), _variance(run, e, scale), _mismatch(run, e, scale)]
    high = [g for g in gaps if g.high]
    focus = max(high, key=lambda g: abs(g.value or 0.0)).name if high else None
    config_file = str(run.run_dir / CONFIG_FILE)
    return Diagnosis(run.run_id, config_file, e, base, source, gaps, focus, _notes(run, e, source))
