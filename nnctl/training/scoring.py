"""Scoring a network on labelled examples: the one path that a run's summary (``train``), the
per-epoch validation rows (``loop``) and ``evaluate`` all use, so their numbers agree to the
last digit by construction.

One forward pass gives the output layer's activations and logits; the loss (no L2 term, no
dropout) is computed from them by the run's own loss function; a classifier's head turns them
into labels (accuracy, confusion matrix), a regression network's outputs are scored directly
(MSE, MAE, R²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.config import Config
from nnctl.core import (
    DEFAULT_THRESHOLD,
    LOSSES,
    Architecture,
    Params,
    accuracy,
    confusion_matrix,
    example_weights,
    forward,
    forward_layers,
    regression_from_sums,
    regression_scores,
)
from nnctl.system import DataError


@dataclass
class Scores:
    """A network's scores on m examples.

    loss: the run's loss on them (may be inf or NaN for a diverged network).
    AL: (n_L, m) the output layer's activations; ZL: (n_L, m) its logits (None for a streamed
    X scored with ``keep_outputs=False``, which keeps nothing per example).
    labels: (1, m) predicted classes (classifiers; None for regression).
    accuracy: share of labels equal to Y (classifiers; None for regression).
    confusion: (K, K) counts, rows true, columns predicted (when ``n_classes`` was given).
    regression: {'mse', 'mae', 'r2'} over all outputs (regression; None for classifiers).
    """

    loss: float
    AL: np.ndarray | None = field(repr=False)
    ZL: np.ndarray | None = field(repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    accuracy: float | None = None
    confusion: np.ndarray | None = None
    regression: dict[str, float] | None = None

    @property
    def finite_loss(self) -> float | None:
        """The loss, or None when it is not finite (JSON has no inf or NaN)."""
        return self.loss if math.isfinite(self.loss) else None

    def summary(self) -> dict[str, float]:
        """What a run's summary records for one split: {'accuracy'} for a classifier,
        {'mse', 'mae', 'r2'} for a regression network."""
        if self.regression is not None:
            return dict(self.regression)
        return {"accuracy": self.accuracy}  # type: ignore[dict-item]


def score(
    params: Params,
    cfg: Config,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int | None = None,
    keep_outputs: bool = True,
    weights: np.ndarray | None = None,
) -> Scores:
    """Scores ``params`` of the network ``cfg`` describes on X: (n_x, m) against Y: (1, m)
    labels or (n_out, m) regression targets. ``threshold``: a binary head's decision threshold;
    ``n_classes``: K, to also count the confusion matrix. A streamed X (one with ``blocks()``,
    ``nnctl.data.stream.H5Columns``) is scored block by block (``score_blocks``); ``keep_outputs``
    False then keeps nothing per example (AL, ZL and labels None). ``weights``: (m,) per-example
    weights of an in-memory X (the validation set of a weighted fit): the loss and the accuracy
    are their weighted means (the confusion matrix and regression scores stay counts)."""
    if weights is not None and hasattr(X, "blocks"):
        raise DataError("per-example weights need the examples in memory, not streamed")
    if hasattr(X, "blocks") or (weights is None and X.shape[1] >= 2 * SCORE_CHUNK):
        # streamed, or large enough to be forwarded in chunks: the loss's targets (a softmax's
        # one-hot columns) are made a block at a time too, never for every example at once
        blocks = X if hasattr(X, "blocks") else _Chunks(X)
        return score_blocks(
            params,
            cfg,
            blocks,
            Y,
            threshold=threshold,
            n_classes=n_classes,
            keep_outputs=keep_outputs,
        )
    arch = cfg.arch
    # overflow in a diverged network is an inf or NaN loss, reported as such, not a warning
    with np.errstate(over="ignore", invalid="ignore"):
        AL, ZL = forward_chunked(params, X, arch)
        w = None if weights is None else example_weights(weights, AL.dtype)
        T = arch.loss.targets(Y, cfg.layer_dims[-1], cfg.float_type)
        loss = arch.loss.weighted_cost(ZL, AL, T, w)
        head = LOSSES[cfg.loss].head
        if head.labels is None:
            return Scores(loss, AL, ZL, regression=regression_scores(AL, Y))
        labels = head.labels(AL, threshold)
        cm = None if n_classes is None else confusion_matrix(labels, Y, n_classes)
        acc = accuracy(labels, Y)
        if weights is not None:
            hits = np.asarray(labels).reshape(-1) == np.asarray(Y).reshape(-1)
            acc = float(np.sum(np.asarray(weights, dtype=np.float64)[hits]) / np.sum(weights))
        return Scores(loss, AL, ZL, labels, acc, cm)


def score_blocks(
    params: Params,
    cfg: Config,
    X: Any,
    Y: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int | None = None,
    keep_outputs: bool = True,
) -> Scores:
    """``score`` of a streamed X (``nnctl.data.stream.H5Columns``), one block of columns at a time,
    so the examples are never in memory whole; with ``keep_outputs`` False neither is anything
    else per example, so the memory is the same for any number of examples.

    Each block's loss (the loss function's mean over its k examples) is added as k times that
    mean and the sum divided by m at the end; accuracy and the confusion matrix are counts;
    MSE, MAE and R²'s residual sums are summed per block (R²'s total sum of squares is computed
    from Y, which is in memory). So the numbers are the whole-array ones up to the order of
    summation (the last bits of the loss), and the same with or without ``keep_outputs``.
    """
    arch, dtype, n_L, m = cfg.arch, cfg.float_type, cfg.layer_dims[-1], X.shape[1]
    head = LOSSES[cfg.loss].head
    regression = head.labels is None
    AL = np.empty((n_L, m), dtype=X.dtype) if keep_outputs else None
    ZL = np.empty((n_L, m), dtype=X.dtype) if keep_outputs else None
    labels = np.empty((1, m), dtype=np.int64) if keep_outputs and not regression else None
    total, correct = 0.0, 0
    cm = (
        None
        if n_classes is None or regression
        else np.zeros((n_classes, n_classes), dtype=np.int64)
    )
    n_out = Y.shape[0]
    ss_res, abs_err = np.zeros(n_out), 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for Xb, cols in X.blocks():
            ALb, ZLb, _ = forward(params, Xb, arch)
            Yb = Y[:, cols]
            k = ALb.shape[1]
            total += arch.loss.cost(ZLb, ALb, arch.loss.targets(Yb, n_L, dtype)) * k
            if keep_outputs:
                AL[:, cols], ZL[:, cols] = ALb, ZLb  # type: ignore[index]
            if regression:
                err = np.asarray(ALb, dtype=np.float64) - np.asarray(Yb, dtype=np.float64)
                ss_res += np.sum(err**2, axis=1)
                abs_err += float(np.sum(np.abs(err)))
                continue
            lab = head.labels(ALb, threshold)
            correct += int(np.count_nonzero(lab == Yb))
            if labels is not None:
                labels[:, cols] = lab
            if cm is not None:
                cm += confusion_matrix(lab, Yb, n_classes)  # type: ignore[arg-type]
        loss = total / m
    if regression:
        return Scores(loss, AL, ZL, regression=regression_from_sums(ss_res, abs_err, Y))
    return Scores(loss, AL, ZL, labels, correct / m, cm)


SCORE_CHUNK = 4096  # examples per chunk of ``forward_chunked``


def chunk_bounds(m: int, chunk: int = SCORE_CHUNK) -> list[int]:
    """Where ``forward_chunked``'s chunks of m examples start, then m: chunks of ``chunk``
    columns, the last one taking the rest (chunk .. 2 chunk - 1 columns)."""
    return [i * chunk for i in range(m // chunk)] + [m]


def scored_width(X: Any) -> int:
    """The most examples ``score`` holds per-example arrays (every layer's, the targets) for at
    once when it scores X (what the memory estimate counts): a streamed X's largest block; of
    an in-memory X's m, all below two chunks, else the widest chunk."""
    if hasattr(X, "plan"):
        return int(np.max(np.diff(X.plan)))
    m = int(X.shape[1])
    return m if m < 2 * SCORE_CHUNK else 2 * SCORE_CHUNK - 1


class _Chunks:
    """An in-memory X: (n_x, m) seen as ``score_blocks`` sees a streamed one: ``blocks()``
    yields (X[:, a:e], slice(a, e)) over ``forward_chunked``'s chunks, so each column's
    outputs are computed by the same kernels as in ``forward_chunked``."""

    def __init__(self, X: np.ndarray) -> None:
        self.X, self.shape, self.dtype = X, X.shape, X.dtype

    def blocks(self) -> Any:
        bounds = chunk_bounds(self.shape[1])
        for a, e in zip(bounds[:-1], bounds[1:]):
            yield self.X[:, a:e], slice(a, e)


def product_width(X: Any) -> int:
    """The columns of the products ``score`` computes for X (for choosing BLAS threads): a
    block of a streamed X, a chunk of a large array (``forward_chunked``), else all of X."""
    if hasattr(X, "plan"):
        return int(np.max(np.diff(X.plan)))
    m = int(X.shape[1])
    return m if m < 2 * SCORE_CHUNK else SCORE_CHUNK


def forward_chunked(
    params: Params, X: np.ndarray, arch: Architecture, chunk: int = SCORE_CHUNK
) -> tuple[np.ndarray, np.ndarray]:
    """(AL, ZL): (n_L, m) of an in-memory X: (n_x, m), as ``model.forward`` gives them, computed
    ``chunk`` columns (examples) at a time through one buffer per hidden layer allocated once.

    Forwarding all m examples at once allocates every hidden layer's activations for all of
    them, and on a virtual machine the first touch of fresh memory is a large part of the cost;
    here only AL and ZL (n_L, m) are whole (what that saves a W2 run:
    docs/developers/measured-core.md). ``score`` takes X this large a chunk at a time itself
    (``_Chunks``, the same chunks), so the targets too are a chunk's; this function gives the
    whole AL and ZL where they are wanted at once.

    Each column of a product depends on that column of its input only, but BLAS picks kernels
    by the product's width, and they round differently; with the chunking below, W2's network
    gives the whole forward's bits exactly on this machine (tests compare them), while other
    networks can differ in the last bit (docs/developers/measured-core.md). So chunking starts
    only at 2 × ``chunk`` = 8192 examples, more than any dataset whose numbers are published
    (the course's 209 and 50, the built-in synthetic sets): below that this is ``forward``.
    """
    m = X.shape[1]
    if chunk % 64:
        raise ValueError(f"chunk must be a multiple of 64 columns, got {chunk}")
    if m < 2 * chunk:  # one chunk: the whole forward is the same work
        return forward(params, X, arch)[:2]
    # each buffer is a flat array whose first n*k values are viewed as a C-contiguous (n, k),
    # so the last, narrower chunk gets contiguous operands and outputs too
    # Chunks of ``chunk`` columns, the last one taking the rest (chunk .. 2 chunk - 1 columns).
    # Why: OpenBLAS computes a product in panels of a few columns (8 for dgemm here) and the
    # columns left over by other kernels, which round differently; and numpy hands a product of
    # one column to gemv. With every chunk a multiple of 64 columns but the last, each column
    # is computed by the kernel that computes it in the whole product.
    bounds = chunk_bounds(m, chunk)
    width = max(e - a for a, e in zip(bounds[:-1], bounds[1:]))
    dtype = np.result_type(X.dtype, *(W.dtype for W in params.Ws))
    bufs = [np.empty(W.shape[0] * width, dtype=dtype) for W in params.Ws]
    AL = ZL = None
    for a, e in zip(bounds[:-1], bounds[1:]):
        k = e - a
        views = [buf[: W.shape[0] * k].reshape(W.shape[0], k) for W, buf in zip(params.Ws, bufs)]
        Ac, Zc = forward_layers(params, X[:, a:e], arch, out=views)
        if AL is None:
            AL, ZL = (
                np.empty((Ac.shape[0], m), dtype=Ac.dtype),
                np.empty((Zc.shape[0], m), dtype=Zc.dtype),
            )
        AL[:, a:e] = Ac
        ZL[:, a:e] = Zc
    return AL, ZL  # type: ignore[return-value]
