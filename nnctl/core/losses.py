"""Losses as a table of (cost, gradient) pairs, each tied to the output activation it pairs with.

A loss's entry in ``LOSSES`` is everything about it: its maths, how its outputs read (its
head), how many output units it needs (checked against the config and the data), and how the
gradient check makes targets for it. A new loss is one entry.

The gradient is taken with respect to the output layer's pre-activation ``ZL`` and is fused
with the output activation (sigmoid + cross-entropy gives ``AL - Y``): it is exact, cheaper
than ``dAL`` followed by the activation's backward, and cannot divide by a saturated ``AL``.

Per-example weights (scikit-learn's ``sample_weight``; the config's ``class_weight``, which ``bind``
turns into such weights) enter here and nowhere else: ``example_weights`` scales them to a
mean of 1, and ``Loss.weighted_cost`` / ``Loss.weighted_grad`` multiply each example's term by
its scaled weight. The weighted mean sum_i w_i l_i / sum_i w_i (scikit-learn's normalization)
is then the plain mean of the scaled terms, so the 1/m of the cost and of the linear backward
step stay as they are, and weights of ones scale to exactly 1: the same bits as no weights.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nnctl.core.heads import Head, sigmoid_probabilities, softmax_labels, softmax_probabilities
from nnctl.core.metrics import predict_labels
from nnctl.system import RunError, quote_list


class Targets(Protocol):
    """What an output-unit rule reads of a dataset (``nnctl.data.dataset.Dataset`` is one):
    its class names, and the training targets Y_train: (n_out, m)."""

    classes: list[str]
    Y_train: np.ndarray


@dataclass(frozen=True)
class CheckTargets:
    """How the gradient check's built-in suite makes random targets for one loss."""

    n_out: int  # output units of the suite's networks for this loss
    make: Callable[[np.random.Generator, int, int], np.ndarray]  # (rng, n_out, m) -> Y: (n_out, m)


def any_units(n_out: int, ds: Targets | None) -> str | None:
    """The default output-unit rule: any number of units fits."""
    return None


@dataclass(frozen=True)
class Loss:
    """One loss.

    cost(ZL, AL, Y, w=None) -> float: mean over the m examples. ZL, AL, Y: (n_L, m); w: (1, m)
        per-example weights of mean 1 (``example_weights``) multiplying each example's term, or
        None (a cost that takes no ``w`` still serves unweighted training).
    grad(AL, Y) -> dZL: (n_L, m), the gradient of m * cost with respect to ZL
        (the 1/m is applied once, in the linear backward step, as the course does).
    output: name of the output activation this loss pairs with.
    task: "classification" (a dataset's Y holds class labels) or "regression" (real values).
    targets(Y, n_L, dtype) -> the (n_L, m) array the loss compares AL with, made from a
        dataset's Y: (1, m) labels for classification, (n_out, m) values for regression.
    head: how the output layer's activations read: labels and class probabilities, or values.
    units(n_out, ds) -> None when an output layer of n_out units fits, else the problem in one
        line; ds is None when only the config is checked, else the dataset it is bound to.
    check_targets: the gradient check suite's targets (None: the suite refuses the loss).
    """

    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    output: str
    task: str = "classification"
    # 0/1 labels as the network's dtype: int64 labels would upcast float32 gradients to float64
    targets: Callable[[np.ndarray, int, type], np.ndarray] = lambda Y, n_L, dtype: np.asarray(
        Y, dtype=dtype
    )
    head: Head = Head(None, None)
    units: Callable[[int, Targets | None], str | None] = any_units
    check_targets: CheckTargets | None = None

    @property
    def weighs(self) -> bool:
        """Whether ``cost`` takes per-example weights (a ``w`` parameter)."""
        return "w" in inspect.signature(self.cost).parameters

    def weighted_cost(
        self, ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
    ) -> float:
        """The cost, weighted by w: (1, m) from ``example_weights`` (None: unweighted).
        Raises RunError for weights given to a cost that takes none."""
        if w is None:
            return self.cost(ZL, AL, Y)
        if not self.weighs:
            raise RunError(
                f"the loss {getattr(self.cost, '__name__', self.cost)!r} takes no per-example "
                "weights (its cost has no w parameter); train it without sample weights"
            )
        return self.cost(ZL, AL, Y, w)

    def weighted_grad(
        self, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
    ) -> np.ndarray:
        """dZL: (n_L, m), each example's column multiplied by its weight w: (1, m) (None: as
        ``grad``): the gradient of m * ``weighted_cost``."""
        dZL = self.grad(AL, Y)
        return dZL if w is None else dZL * w


def example_weights(w: np.ndarray, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """Per-example weights w: (m,) >= 0 -> (1, m) w * (m / sum(w)) in ``dtype``: mean 1, so a
    mean of terms multiplied by them is the weighted mean sum_i w_i l_i / sum_i w_i. Weights of
    ones give exactly ones. All zero (a mini-batch of examples that weigh nothing): zeros, so
    the batch adds nothing to the loss or its gradient."""
    w = np.asarray(w, dtype=np.float64).reshape(1, -1)
    total = float(np.sum(w))
    scaled = w * (w.shape[1] / total) if total > 0 else np.zeros_like(w)
    return scaled.astype(dtype, copy=False)


def binary_cross_entropy(
    ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
) -> float:
    """-mean(Y log AL + (1 - Y) log(1 - AL)), computed from the logits ZL; w: (1, m) weights.

    With AL = sigmoid(ZL) the per-example loss is softplus(ZL) - Y ZL; ``np.logaddexp(0, ZL)``
    is softplus without overflow, so logits of +-1000 give finite costs and no log(0).
    """
    m = ZL.shape[1]
    terms = np.logaddexp(0, ZL) - Y * ZL
    if w is not None:
        terms *= w
    return float(np.sum(terms) / m)


def binary_cross_entropy_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = AL - Y."""
    return AL - Y


def one_hot(Y: np.ndarray, K: int, dtype: type = np.float64) -> np.ndarray:
    """Labels Y: (1, m) in 0..K-1 -> (K, m) with a single 1 per column."""
    labels = np.asarray(Y).reshape(-1).astype(np.int64)
    out = np.zeros((K, labels.size), dtype=dtype)
    out[labels, np.arange(labels.size)] = 1
    return out


def categorical_cross_entropy(
    ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
) -> float:
    """-mean over examples of sum_k Y_k log softmax(ZL)_k. ZL, AL, Y: (K, m), Y one-hot;
    w: (1, m) weights.

    Computed as log-softmax from the logits, logsumexp(ZL) - sum_k Y_k ZL_k, with the column
    maximum shifted out of the exponent: no overflow, and no log(0) when a probability
    underflows (a confidently wrong example costs its large finite logit gap, not inf).
    """
    m = ZL.shape[1]
    top = ZL.max(axis=0, keepdims=True)
    logsumexp = top + np.log(np.sum(np.exp(ZL - top), axis=0, keepdims=True))
    picked = Y * ZL
    if w is not None:
        logsumexp *= w
        picked *= w
    return float(np.sum(logsumexp) - np.sum(picked)) / m


def categorical_cross_entropy_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = AL - Y (softmax and cross-entropy fused; Y one-hot (K, m))."""
    return AL - Y


def mean_squared_error(
    ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None
) -> float:
    """mean((AL - Y)^2) over all n_L * m entries: exactly the MSE that evaluation reports;
    w: (1, m) weights, one per example (column).

    A diverging network's outputs square to inf; that is the answer (the loop stops on it),
    so numpy's overflow warning is silenced.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        squares = (AL - Y) ** 2
        if w is not None:
            squares *= w
        return float(np.mean(squares))


def mean_squared_error_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dZL = 2 (AL - Y) / n_L: m times the gradient of the mean over m * n_L entries."""
    return (2.0 / AL.shape[0]) * (AL - Y)


def _classes(ds: Targets) -> str:
    return f"{len(ds.classes):,} classes ({quote_list(ds.classes)})"


def _too_few_classes(ds: Targets | None) -> str | None:
    """A dataset of fewer than two classes suits no classifier's output: said once, the same
    for sigmoid and softmax, so neither sends the user to the other."""
    if ds is None or len(ds.classes) >= 2:
        return None
    what = f"1 class ({ds.classes[0]})" if ds.classes else "no classes"
    return (
        f"the dataset has {what}; a classifier needs at least 2 classes "
        "(an image folder: at least 2 class folders)"
    )


def one_unit_two_classes(n_out: int, ds: Targets | None) -> str | None:
    """A sigmoid output: one unit, and a dataset of two classes."""
    if few := _too_few_classes(ds):
        return few
    if n_out != 1:
        return f"layer_dims: a sigmoid output (binary classification) has 1 unit, got {n_out}"
    if ds is not None and len(ds.classes) != 2:
        return (
            f"a sigmoid output does binary classification, but the dataset has {_classes(ds)}; "
            f"use a softmax output with {len(ds.classes)} units"
        )
    return None


def one_unit_per_class(n_out: int, ds: Targets | None) -> str | None:
    """A softmax output: one unit per class of the dataset (at least 2)."""
    if few := _too_few_classes(ds):
        return few
    if n_out < 2:
        return (
            f"layer_dims: a softmax output has one unit per class (at least 2), got {n_out}; "
            "use a sigmoid output for a single unit"
        )
    if ds is not None and n_out != len(ds.classes):
        return (
            f"layer_dims: a softmax output has one unit per class, but the last layer has {n_out} "
            f"and the dataset has {_classes(ds)}; use {len(ds.classes)}"
        )
    return None


def one_unit_per_target(n_out: int, ds: Targets | None) -> str | None:
    """A regression output: one unit per target value of an example."""
    if ds is not None and n_out != ds.Y_train.shape[0]:
        k = ds.Y_train.shape[0]
        return (
            f"layer_dims: the last layer has {n_out} unit(s) but the dataset has {k} target "
            f"value(s) per example; use {k}"
        )
    return None


LOSSES: dict[str, Loss] = {
    "binary_cross_entropy": Loss(
        binary_cross_entropy,
        binary_cross_entropy_grad,
        "sigmoid",
        head=Head(predict_labels, sigmoid_probabilities, threshold=True),
        units=one_unit_two_classes,
        # 0/1 labels, as the sigmoid + cross-entropy head is trained on
        check_targets=CheckTargets(
            1, lambda rng, n, m: rng.integers(0, 2, size=(n, m)).astype(np.float64)
        ),
    ),
    "categorical_cross_entropy": Loss(
        categorical_cross_entropy,
        categorical_cross_entropy_grad,
        "softmax",
        targets=lambda Y, K, dtype: one_hot(Y, K, dtype),
        head=Head(softmax_labels, softmax_probabilities),
        units=one_unit_per_class,
        # one-hot columns of random classes, as the softmax head is trained on
        check_targets=CheckTargets(3, lambda rng, n, m: np.eye(n)[:, rng.integers(0, n, size=m)]),
    ),
    "mean_squared_error": Loss(
        mean_squared_error,
        mean_squared_error_grad,
        "linear",
        task="regression",
        # regression: the linear outputs are the predicted values themselves
        head=Head(None, None),
        units=one_unit_per_target,
        # real-valued targets with two outputs, so the multi-output sum is exercised too
        check_targets=CheckTargets(2, lambda rng, n, m: rng.standard_normal((n, m))),
    ),
}

OUTPUT_LOSS: dict[str, str] = {}
"""The default loss of each supported output activation (the first loss listed for it)."""
for _name, _loss in LOSSES.items():
    OUTPUT_LOSS.setdefault(_loss.output, _name)


def head_for(loss: str) -> Head:
    """The head of a run's loss. Raises RunError for a loss this version cannot interpret."""
    try:
        return LOSSES[loss].head
    except KeyError:
        raise RunError(
            f"this nnctl cannot interpret outputs of a {loss!r} model; known: {', '.join(LOSSES)}"
        ) from None
