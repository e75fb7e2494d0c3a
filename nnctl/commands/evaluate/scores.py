"""A run's scores on the examples ``data.load_eval_data`` picks: ``evaluate_run`` ->
``Evaluation`` (classifiers) or ``RegressionEvaluation``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.commands.evaluate.data import load_eval_data
from nnctl.core import (
    check_threshold,
    head_for,
    precision_recall_f1,
    regression_scores,
    scores_from_confusion,
)
from nnctl.runs import LoadedRun
from nnctl.system import threads as blas
from nnctl.training import product_width, score


@dataclass
class Evaluation:
    """Scores of a run on one labelled dataset. confusion: (K, K), rows true, columns predicted."""

    data: str  # what was evaluated, e.g. "test split (data/test_catvnoncat.h5)"
    classes: list[str]
    n: int
    accuracy: float
    precision: float | None
    recall: float | None
    f1: float | None
    log_loss: float
    confusion: np.ndarray
    threshold: float | None  # None for a head without one (softmax)
    labels: np.ndarray = field(repr=False)  # (m,) predicted class indices
    Y: np.ndarray = field(repr=False)  # (m,) true class indices
    notes: list[str] = field(default_factory=list)  # warnings for the user (CLI prints them)
    raw_file: Path | None = None  # HDF5 file holding the raw examples (for --errors)
    raw_index: np.ndarray | None = field(default=None, repr=False)  # (m,) rows of raw_file
    task: str = "classification"
    raw_spec: dict[str, Any] | None = field(
        default=None, repr=False
    )  # dataset keys to read raw_file with

    @property
    def per_class(self) -> dict[str, list]:
        """Per-class precision, recall, F1 and support (lists in class order)."""
        return scores_from_confusion(self.confusion)

    @property
    def balanced_accuracy(self) -> float | None:
        """The mean of the per-class recalls over the classes present: what accuracy would be
        if every class had as many examples (an imbalanced set's majority class cannot carry
        it). None when no class is present."""
        recalls = [r for r in self.per_class["recall"] if r is not None]
        return float(np.mean(recalls)) if recalls else None

    @property
    def misclassified(self) -> np.ndarray:
        return np.flatnonzero(self.labels != self.Y)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "task": self.task,
            "n": self.n,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "log_loss": self.log_loss,
            "threshold": self.threshold,
            "classes": self.classes,
            "per_class": {
                c: {k: v[i] for k, v in self.per_class.items()} for i, c in enumerate(self.classes)
            },
            "confusion_matrix": self.confusion.tolist(),
            "misclassified": self.misclassified.tolist(),
        }


@dataclass
class RegressionEvaluation:
    """Scores of a regression run on one dataset: MSE, MAE and R² over all outputs (as
    ``train`` reports them) and, for several outputs, per output."""

    data: str
    n: int
    n_outputs: int
    mse: float
    mae: float
    r2: float
    per_output: list[dict[str, float]]  # one {'mse', 'mae', 'r2'} per output; empty for one output
    notes: list[str] = field(default_factory=list)
    task: str = "regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "task": self.task,
            "n": self.n,
            "n_outputs": self.n_outputs,
            "mse": self.mse,
            "mae": self.mae,
            "r2": self.r2,
            "per_output": self.per_output,
        }


def evaluate_run(
    run: LoadedRun,
    data_file: str | None = None,
    split: str | None = None,
    threshold: float | None = None,
    threads: int | None = None,
) -> Evaluation | RegressionEvaluation:
    """Scores the run on its own test set (train set when it has none), on ``split``, or on
    ``data_file``, with ``threads`` BLAS threads (None: chosen as for training, by the size of
    the products and how busy the machine is; ``nnctl.system.threads``). Raises ConfigError for bad
    options, DataError for unusable data."""
    cfg = run.config
    head = head_for(cfg.loss)
    threshold = check_threshold(head, threshold, cfg.loss)
    d = load_eval_data(run, data_file, split)
    with blas.blas_threads(blas.choose(cfg.layer_dims, max(1, product_width(d.X)), threads).blas):
        scores = score(run.params, cfg, d.X, d.Y, threshold=threshold, n_classes=len(d.classes))
    if scores.regression is not None:
        AL = scores.AL
        n_out = AL.shape[0]
        per_output = (
            [regression_scores(AL[k : k + 1], d.Y[k : k + 1]) for k in range(n_out)]
            if n_out > 1
            else []
        )
        return RegressionEvaluation(
            data=d.description,
            n=int(d.Y.shape[1]),
            n_outputs=n_out,
            per_output=per_output,
            notes=d.notes,
            **scores.regression,
        )
    return Evaluation(
        data=d.description,
        classes=d.classes,
        n=int(d.Y.shape[1]),
        accuracy=scores.accuracy,
        log_loss=scores.loss,
        confusion=scores.confusion,
        threshold=threshold if head.threshold else None,
        labels=scores.labels.reshape(-1),
        Y=d.Y.reshape(-1),
        notes=d.notes,
        raw_file=d.raw_file,
        raw_index=d.raw_index,
        raw_spec=d.spec,
        **precision_recall_f1(scores.confusion),
    )
