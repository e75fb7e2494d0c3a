"""Turning network outputs into labels, and scoring them: accuracy, per-class precision and
recall for K classes, MSE / MAE / R² for regression.

Labels are always (1, m) int arrays; regression targets and outputs are (n_out, m) arrays.
Each loss's head (``losses.LOSSES[name].head``) says which of these turns its output
layer's activations into labels; ``scoring.score`` applies it. The log loss of a classifier is
its own loss function (``scoring.Scores.loss``).
"""

from __future__ import annotations

import numpy as np


def predict_labels(AL: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """AL: (1, m) sigmoid probabilities -> (1, m) int labels (1 where AL > threshold, as the
    course's ``predict``)."""
    return (AL > threshold).astype(np.int64)


def argmax_labels(AL: np.ndarray) -> np.ndarray:
    """AL: (K, m) softmax probabilities -> (1, m) int labels, the most probable class (the
    lowest index on a tie)."""
    return np.argmax(AL, axis=0).reshape(1, -1).astype(np.int64)


def accuracy(labels: np.ndarray, Y: np.ndarray) -> float:
    """Share of examples whose label equals Y. labels, Y: (1, m)."""
    return float(np.mean(labels == Y))


def confusion_matrix(labels: np.ndarray, Y: np.ndarray, K: int) -> np.ndarray:
    """(K, K) int counts: row = true class, column = predicted class. labels, Y: (1, m) or (m,)."""
    true = np.asarray(Y).reshape(-1).astype(np.int64)
    pred = np.asarray(labels).reshape(-1).astype(np.int64)
    return np.bincount(true * K + pred, minlength=K * K).reshape(K, K)


def _ratios(num: np.ndarray, den: np.ndarray) -> list[float | None]:
    return [None if d == 0 else float(n / d) for n, d in zip(num, den)]


def scores_from_confusion(cm: np.ndarray) -> dict[str, list]:
    """Per-class precision, recall, F1 and support (lists of K entries) from a confusion
    matrix (rows true, columns predicted).

    A class never predicted has precision None (0/0 is undefined, not 0); a class absent from
    Y has recall None. F1 = 2 TP / (predicted + actual), which is 2pr / (p + r) where both exist
    and stays defined (0) when only one does; None only for a class neither present nor predicted.
    """
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    return {
        "precision": _ratios(tp, predicted),
        "recall": _ratios(tp, support),
        "f1": _ratios(2 * tp, predicted + support),
        "support": [int(x) for x in support],
    }


def per_class_scores(labels: np.ndarray, Y: np.ndarray, K: int) -> dict[str, list]:
    """``scores_from_confusion`` of labels against Y, both (1, m)."""
    return scores_from_confusion(confusion_matrix(labels, Y, K))


def precision_recall_f1(cm: np.ndarray) -> dict[str, float | None]:
    """One precision, recall and F1: for 2 classes those of the positive class (index 1, as the
    course's ``y = 1`` is "cat"); for more, the macro average over the classes where each is
    defined."""
    s = scores_from_confusion(cm)
    if cm.shape[0] == 2:
        return {k: s[k][1] for k in ("precision", "recall", "f1")}

    def macro(values: list[float | None]) -> float | None:
        vals = [v for v in values if v is not None]
        return float(np.mean(vals)) if vals else None

    return {k: macro(s[k]) for k in ("precision", "recall", "f1")}


def regression_scores(AL: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """MSE, MAE and R² of outputs AL against targets Y, both (n_out, m).

    MSE and MAE average over all n_out * m entries. R² is 1 - SS_res / SS_tot per output,
    averaged over outputs (scikit-learn's 'uniform_average'); an output whose targets are all
    equal has SS_tot = 0 and scores 1.0 if predicted exactly, else 0.0 (as scikit-learn does).
    """
    err = np.asarray(AL, dtype=np.float64) - np.asarray(Y, dtype=np.float64)
    Yf = np.asarray(Y, dtype=np.float64)
    ss_res = np.sum(err**2, axis=1)
    return _regression(float(np.mean(err**2)), float(np.mean(np.abs(err))), ss_res, Yf)


def regression_from_sums(ss_res: np.ndarray, abs_err: float, Y: np.ndarray) -> dict[str, float]:
    """``regression_scores`` from sums gathered over blocks of examples: ``ss_res``: (n_out,)
    squared errors per output, ``abs_err``: absolute errors of all entries, Y: (n_out, m)."""
    Yf = np.asarray(Y, dtype=np.float64)
    return _regression(float(np.sum(ss_res) / Yf.size), abs_err / Yf.size, ss_res, Yf)


def _regression(mse: float, mae: float, ss_res: np.ndarray, Yf: np.ndarray) -> dict[str, float]:
    ss_tot = np.sum((Yf - Yf.mean(axis=1, keepdims=True)) ** 2, axis=1)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    r2 = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return {"mse": mse, "mae": mae, "r2": float(np.mean(r2))}
