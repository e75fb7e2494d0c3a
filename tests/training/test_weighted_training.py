"""Per-example weights through the training loops (``nnctl.commands.train.fit``): integer
weights train as repeated examples and zero weights as removed ones (full batch, both loops),
weights of ones give the unweighted bits, mini-batches carry their own examples' weights, and
the hold-out, validation loss and normalization statistics are weighted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnctl.training.fullbatch as fullbatch
import nnctl.training.loop as loop
from nnctl.commands import fit
from nnctl.config import resolve
from nnctl.data import Dataset
from nnctl.system import DataError
from nnctl.training import bind, fast_path_applies, score

# Weights against repeated examples: the same sums in another order, so the parameters agree to
# rounding; over a few hundred steps that stays far below this (measured ~1e-14 relative).
REPEAT_TOL = 1e-10


def problem(n_x=5, m=40, seed=0, **overrides):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = (X[0] + 0.5 * X[1] > 0).astype(np.int64).reshape(1, -1)
    raw = {
        "dataset": {"synthetic": "moons"},  # not loaded: X and Y are passed to fit directly
        "layer_dims": [n_x, 6, 1],
        "activations": ["relu", "sigmoid"],
        "init": "he",
        "learning_rate": 0.01,
        "optimizer": "adam",
        "epochs": 150,
        "l2": 0.3,
        **overrides,
    }
    return resolve(raw, "weights.yaml"), X, Y


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def same_params(a, b, tol: float) -> None:
    for name, p in a.params.to_dict().items():
        q = b.params.to_dict()[name]
        assert rel(q, p) <= tol, (name, rel(q, p))


def direct(cfg, X, Y, **kw):
    with pytest.MonkeyPatch.context() as mp, threadpool_limits(limits=1, user_api="blas"):
        mp.setattr(fullbatch, "fast_path_applies", lambda cfg, X: False)
        return fit(cfg, X, Y, **kw)


def test_integer_weights_train_as_repeated_examples_full_batch() -> None:
    cfg, X, Y = problem()
    k = np.random.default_rng(1).integers(1, 4, size=X.shape[1])
    weighted = direct(cfg, X, Y, weights=k.astype(float))
    repeated = direct(cfg, np.repeat(X, k, axis=1), np.repeat(Y, k, axis=1))
    assert weighted.costs[-1] < 0.7 * weighted.costs[0]  # it learned: the comparison bites
    np.testing.assert_allclose(weighted.costs, repeated.costs, rtol=REPEAT_TOL)
    same_params(weighted, repeated, REPEAT_TOL)
    # and they are not the unweighted run's
    plain = direct(cfg, X, Y)
    assert rel(plain.params.Ws[0], weighted.params.Ws[0]) > 1e-3


def test_zero_weight_removes_the_example_full_batch() -> None:
    cfg, X, Y = problem(optimizer="momentum")
    w = np.ones(X.shape[1])
    w[[3, 7, 20]] = 0.0
    kept = w > 0
    weighted = direct(cfg, X, Y, weights=w)
    removed = direct(cfg, X[:, kept], Y[:, kept])
    np.testing.assert_allclose(weighted.costs, removed.costs, rtol=REPEAT_TOL)
    same_params(weighted, removed, REPEAT_TOL)


def test_the_factored_full_batch_path_weighs_as_the_direct_loop() -> None:
    # n_x well above m and plain gradient descent: the fast path applies
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 40))
    Y = (rng.standard_normal(300) @ X > 0).astype(np.int64).reshape(1, -1)
    raw = {
        "dataset": {"synthetic": "moons"},
        "layer_dims": [300, 8, 1],
        "activations": ["tanh", "sigmoid"],
        "init": "xavier",
        "learning_rate": 0.05,
        "iterations": 200,
    }
    cfg = resolve(raw, "wide.yaml")
    assert fast_path_applies(cfg, X)
    k = rng.integers(0, 4, size=40).astype(float)
    fast = fit(cfg, X, Y, weights=k)
    slow = direct(cfg, X, Y, weights=k)
    kept = k > 0
    repeated = direct(cfg, np.repeat(X, k.astype(int), axis=1), np.repeat(Y, k.astype(int), axis=1))
    assert fast.costs[-1] < 0.7 * fast.costs[0]
    same_params(fast, slow, 1e-9)  # the factored path's own rounding (measured-core.md)
    same_params(slow, repeated, REPEAT_TOL)
    assert kept.sum() < 40  # a zero among the weights: an example removed
    # weights of ones: the fast path's unweighted bits
    a, b = fit(cfg, X, Y), fit(cfg, X, Y, weights=np.ones(40))
    assert a.costs == b.costs
    assert all(
        np.array_equal(p, q) for p, q in zip(a.params.Ws + a.params.bs, b.params.Ws + b.params.bs)
    )


@pytest.mark.parametrize("batch", [None, 8])
def test_weights_of_ones_give_the_unweighted_bits(batch) -> None:
    cfg, X, Y = problem(batch_size=batch, early_stopping={"patience": 3}, validation_fraction=0.2)
    X_val, Y_val = X[:, :10] + 0.1, Y[:, :10]
    a = direct(cfg, X, Y, X_val=X_val, Y_val=Y_val)
    b = direct(cfg, X, Y, X_val=X_val, Y_val=Y_val, weights=np.ones(40), weights_val=np.ones(10))
    assert a.costs == b.costs and a.val_rows == b.val_rows
    assert all(
        np.array_equal(p, q) for p, q in zip(a.params.Ws + a.params.bs, b.params.Ws + b.params.bs)
    )


def test_each_mini_batch_carries_its_own_examples_weights(monkeypatch) -> None:
    # feature 0 holds each example's index, its weight is a function of it: every batch the
    # loop hands to cost_and_gradients must pair each column with that example's weight
    cfg, X, Y = problem(batch_size=7, epochs=3)
    X[0] = np.arange(X.shape[1])
    w = 1.0 + np.arange(X.shape[1]) % 5
    seen = []
    real = loop.cost_and_gradients

    def spy(params, Xb, Tb, arch, **kw):
        seen.append((Xb[0].copy(), kw["weights"].copy()))
        return real(params, Xb, Tb, arch, **kw)

    monkeypatch.setattr(loop, "cost_and_gradients", spy)
    direct(cfg, X, Y, weights=w)
    assert len(seen) == 3 * 6  # 40 examples in batches of 7: 6 per epoch
    for ids, wb in seen:
        assert np.array_equal(wb, w[ids.astype(int)])
    first_epoch = np.concatenate([ids for ids, _ in seen[:6]])
    assert sorted(first_epoch.astype(int).tolist()) == list(range(40))  # shuffled, each once
    assert not np.array_equal(first_epoch, np.arange(40))


def test_validation_loss_and_accuracy_are_weighted() -> None:
    cfg, X, Y = problem(epochs=4)
    X_val, Y_val = X[:, :12] * 0.9, Y[:, :12]
    w_val = np.arange(12, dtype=float) % 3
    res = direct(cfg, X, Y, X_val=X_val, Y_val=Y_val, weights_val=w_val)
    assert len(res.val_rows) == 4
    # the last row against a hand computation on the final parameters
    from nnctl.core import forward

    AL, ZL, _ = forward(res.params, X_val, cfg.arch)
    each = np.logaddexp(0, ZL[0]) - Y_val[0] * ZL[0]
    hand_loss = float(np.sum(w_val * each) / np.sum(w_val))
    hits = (AL[0] >= 0.5).astype(int) == Y_val[0]
    hand_acc = float(np.sum(w_val[hits]) / np.sum(w_val))
    _, loss, acc = res.val_rows[-1]
    assert loss == pytest.approx(hand_loss, rel=1e-12)
    assert acc == pytest.approx(hand_acc, rel=1e-15)
    assert score(res.params, cfg, X_val, Y_val, weights=w_val).loss == loss


def _dataset(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> Dataset:
    return Dataset(
        X_train=X,
        Y_train=Y,
        X_test=None,
        Y_test=None,
        classes=["0", "1"],
        input_shape=(X.shape[0],),
        divide_by=1.0,
        kind="features",
        source_kind="npz",
        feature_rows=True,
        W_train=w,
    )


def test_bind_splits_the_weights_with_the_examples_and_weighs_the_statistics() -> None:
    cfg, X, Y = problem(validation_fraction=0.25, normalize="standard")
    X = X * 3.0 + 1.0
    w = np.random.default_rng(4).integers(0, 4, size=40).astype(float)
    w[:2] = 1.0
    bound = bind(cfg, loaded=_dataset(X, Y, w))
    ds = bound.dataset
    assert np.array_equal(ds.W_train, w[bound.train_idx])
    assert np.array_equal(ds.W_val, w[bound.val_idx])
    # the statistics are those of the training examples repeated by their weights
    k = w[bound.train_idx].astype(int)
    rows = np.repeat(X[:, bound.train_idx], k, axis=1)
    shift = np.asarray(ds.steps[0]["value"])
    scale = np.asarray(ds.steps[1]["by"])
    np.testing.assert_allclose(shift, rows.mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(scale, rows.std(axis=1), rtol=1e-12)


def test_a_validation_set_that_weighs_nothing_is_refused() -> None:
    cfg, X, Y = problem(validation_fraction=0.25)
    probe = bind(cfg, loaded=_dataset(X, Y, np.ones(40)))
    w = np.ones(40)
    w[probe.val_idx] = 0.0  # the hold-out is the seed's: the same columns again
    with pytest.raises(DataError, match="sample weights of the validation set are all zero"):
        bind(cfg, loaded=_dataset(X, Y, w))
    with pytest.raises(DataError, match="sample weights of the training set are all zero"):
        bind(dataclasses.replace(cfg, validation_fraction=0.0), loaded=_dataset(X, Y, 0 * w))
