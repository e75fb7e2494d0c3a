"""``evaluate --tune-threshold``: the decision threshold of a binary classifier chosen on its
validation split (never the test set) for a goal: the best F1, or the best recall at a
precision of at least P, or the best precision at a recall of at least R."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnctl.commands.evaluate.data import load_eval_data
from nnctl.commands.evaluate.scores import Evaluation, evaluate_run
from nnctl.core import head_for
from nnctl.runs import LoadedRun
from nnctl.system import DataError, OptionError
from nnctl.system import threads as blas
from nnctl.training import product_width, score

GOALS = "f1, precision=P or recall=R (P, R in (0, 1])"


@dataclass(frozen=True)
class Goal:
    """What the threshold is tuned for: ``metric`` f1 (maximized), or precision / recall held
    at ``at_least`` while the other one is maximized."""

    metric: str
    at_least: float | None = None

    def __str__(self) -> str:
        return self.metric if self.at_least is None else f"{self.metric}={self.at_least:g}"


def parse_goal(text: str) -> Goal:
    """``f1``, ``precision=0.9`` or ``recall=0.95``; OptionError("tune_threshold") else."""
    name, sep, value = text.strip().partition("=")
    if name == "f1" and not sep:
        return Goal("f1")
    if name in ("precision", "recall") and sep:
        try:
            target = float(value)
        except ValueError:
            target = float("nan")
        if 0 < target <= 1:
            return Goal(name, target)
        raise OptionError("tune_threshold", f"{name}= needs a number in (0, 1], got {value!r}")
    raise OptionError("tune_threshold", f"got {text!r}; valid: {GOALS}")


def _sweep(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, precision, recall, F1) of "positive when p > t" for every t that changes
    the predictions: midway between neighbouring distinct probabilities, and beyond both ends.
    p, y: (m,) positive-class probabilities and 0/1 labels. Precision is nan where nothing is
    predicted positive."""
    u = np.unique(p)
    t = np.concatenate([[u[0] / 2], (u[:-1] + u[1:]) / 2, [(u[-1] + 1) / 2]])
    t = t[(t > 0) & (t < 1)]  # what --threshold accepts
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    # examples predicted positive at t: those with p > t, a prefix of the descending order
    k = ps.size - np.searchsorted(ps[::-1], t, side="right")
    tp_cum = np.concatenate([[0], np.cumsum(ys)])
    tp = tp_cum[k].astype(np.float64)
    positives = float(ys.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(k > 0, tp / k, np.nan)
        recall = tp / positives if positives else np.full_like(tp, np.nan)
        f1 = np.where(k + positives > 0, 2 * tp / (k + positives), np.nan)
    return t, precision, recall, f1


def _choose(
    goal: Goal, t: np.ndarray, precision: np.ndarray, recall: np.ndarray, f1: np.ndarray
) -> int:
    """The index of the threshold meeting ``goal``; ties go to the threshold nearest 0.5."""
    if goal.metric == "f1":
        score_, ok = f1, np.isfinite(f1)
    else:
        held = precision if goal.metric == "precision" else recall
        score_ = recall if goal.metric == "precision" else precision
        ok = np.isfinite(held) & (held >= goal.at_least) & np.isfinite(score_)
    if not ok.any():
        best = np.nanmax(precision if goal.metric == "precision" else recall)
        raise DataError(
            f"no threshold reaches {goal} on the validation split "
            f"(the best {goal.metric} there is {best:.4f})"
        )
    candidates = np.flatnonzero(ok)
    top = score_[candidates].max()
    tied = candidates[score_[candidates] == top]
    return int(tied[np.argmin(np.abs(t[tied] - 0.5))])


def tune_threshold(
    run: LoadedRun, goal: Goal, threads: int | None = None
) -> tuple[float, Evaluation]:
    """The threshold meeting ``goal`` on the run's validation split, and that split evaluated
    at it. Raises OptionError for a run without a threshold (not a binary classifier),
    DataError for a run without a validation split or a goal no threshold meets."""
    cfg = run.config
    if not head_for(cfg.loss).threshold:
        raise OptionError(
            "tune_threshold", f"applies to binary classifiers; this run's loss is {cfg.loss}"
        )
    if not (cfg.validation_fraction > 0 or cfg.dataset.get("val")):
        raise DataError(
            f"{run.run_dir}: the run has no validation split to tune the threshold on (never the "
            "test set); train with validation_fraction (e.g. --set validation_fraction=0.2) "
            "or dataset.val"
        )
    d = load_eval_data(run, None, "val")
    with blas.blas_threads(blas.choose(cfg.layer_dims, max(1, product_width(d.X)), threads).blas):
        AL = score(run.params, cfg, d.X, d.Y, n_classes=len(d.classes)).AL
    t, precision, recall, f1 = _sweep(AL.reshape(-1), d.Y.reshape(-1).astype(np.int64))
    threshold = float(t[_choose(goal, t, precision, recall, f1)])
    ev = evaluate_run(run, None, "val", threshold, threads)
    assert isinstance(ev, Evaluation)
    return threshold, ev
