"""A run's errors per split, as its summary recorded them, and the baseline they are judged
against."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnctl.runs import SUMMARY_FILE, LoadedRun
from nnctl.system import OptionError, RunError


@dataclass(frozen=True)
class SplitErrors:
    """The errors of one run: 1 - accuracy (classifiers) or the MSE (regression) on each split
    it was scored on (None: the run has no such split). ``n_*``: the examples in each split."""

    task: str
    metric: str  # "error (1 - accuracy)" or "MSE"
    train: float
    val: float | None
    test: float | None
    n_train: int | None
    n_val: int | None
    n_test: int | None

    def of(self, split: str) -> tuple[float | None, int | None]:
        """(error, examples) of ``split`` (train, val or test)."""
        return getattr(self, split), getattr(self, f"n_{split}")


def split_errors(run: LoadedRun) -> SplitErrors:
    """The run's train, validation and test errors from its summary. Raises RunError when the
    run recorded no training score (it failed or diverged before it was scored)."""
    s = run.summary
    classifier = s.task == "classification"

    def error(split: str) -> float | None:
        key = f"{split}_accuracy" if classifier else f"{split}_mse"
        value = s.metric(key)
        if value is None:
            return None
        value = float(value)
        # a summary edited or damaged by hand: no score outside what the metric can be
        if not math.isfinite(value) or value < 0 or (classifier and value > 1):
            valid = "a number in [0, 1]" if classifier else "a finite number >= 0"
            raise RunError(
                f"{run.run_dir / SUMMARY_FILE}: damaged: {key} is {value}, expected {valid}"
            )
        return 1.0 - value if classifier else value

    def examples(key: str) -> int | None:
        n = s.dataset.get(key)
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None

    train = error("train")
    if train is None:
        raise RunError(
            f"{run.run_dir}: the run recorded no training score (status {s.status}); "
            "only a run that finished training can be diagnosed"
        )
    return SplitErrors(
        task=s.task,
        metric="error (1 - accuracy)" if classifier else "MSE",
        train=train,
        val=error("val"),
        test=error("test"),
        n_train=examples("n_train"),
        n_val=examples("n_val"),
        n_test=examples("n_test"),
    )


def check_baseline(value: float, task: str) -> float:
    """``value`` as a baseline error for a run of ``task``; raises OptionError("baseline", ...)
    when it is no error such a run could have."""
    if not math.isfinite(value) or value < 0:
        raise OptionError("baseline", f"must be a finite number >= 0, got {value}")
    if task == "classification" and value > 1:
        raise OptionError(
            "baseline",
            f"must be in [0, 1] for a classifier (an error rate: 1 - accuracy), got {value}",
        )
    return float(value)


def resolve_baseline(run: LoadedRun, given: float | None) -> tuple[float, str]:
    """The baseline error and where it came from: ``given`` (the --baseline option), else the
    run config's ``diagnose.baseline``, else 0 ("default")."""
    if given is not None:
        return check_baseline(given, run.summary.task), "--baseline"
    configured = (run.config.diagnose or {}).get("baseline")
    if configured is not None:
        return float(configured), "diagnose.baseline"
    return 0.0, "default"
