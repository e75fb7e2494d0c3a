"""Per-example weights in the losses (``losses.example_weights``, ``Loss.weighted_cost`` and
``weighted_grad``) and in ``cost_and_gradients``: by value against hand computations, the
unweighted bits for weights of ones, and the gradient by central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.core import LOSSES, example_weights
from nnctl.core import network as model


def test_example_weights_have_mean_one_and_ones_stay_exactly_one() -> None:
    w = example_weights(np.array([1.0, 3.0, 0.0, 4.0]))
    assert w.shape == (1, 4) and w.tolist() == [[0.5, 1.5, 0.0, 2.0]]
    ones = example_weights(np.ones(7), np.float32)
    assert ones.dtype == np.float32 and np.array_equal(ones, np.ones((1, 7), np.float32))
    assert np.array_equal(example_weights(np.zeros(3)), np.zeros((1, 3)))  # weighs nothing


def test_weighted_binary_cost_by_hand() -> None:
    # logits 0, ln 3, -ln 3 (sigmoid 1/2, 3/4, 1/4); labels 1, 0, 1; weights 2, 1, 1:
    # losses ln 2, ln 4, ln 4 -> (2 ln 2 + ln 4 + ln 4) / 4 = 6 ln 2 / 4
    ZL = np.array([[0.0, np.log(3), -np.log(3)]])
    AL = 1 / (1 + np.exp(-ZL))
    Y = np.array([[1.0, 0.0, 1.0]])
    w = example_weights(np.array([2.0, 1.0, 1.0]))
    loss = LOSSES["binary_cross_entropy"]
    assert loss.weighted_cost(ZL, AL, Y, w) == pytest.approx(1.5 * np.log(2), rel=1e-15)
    # the gradient: each column of AL - Y times its weight scaled to mean 1 (3/4 * w)
    dZ = loss.weighted_grad(AL, Y, w)
    np.testing.assert_allclose(dZ, (AL - Y) * np.array([[1.5, 0.75, 0.75]]), rtol=1e-15)


def test_weighted_softmax_and_squared_costs_by_hand() -> None:
    # softmax of columns (0, 0) and (ln 3, 0): probabilities (1/2, 1/2), (3/4, 1/4); classes
    # 0 and 1 -> losses ln 2, ln 4; weights 1 and 3 -> (ln 2 + 3 ln 4) / 4 = 7 ln 2 / 4
    ZL = np.array([[0.0, np.log(3)], [0.0, 0.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = example_weights(np.array([1.0, 3.0]))
    cce = LOSSES["categorical_cross_entropy"]
    assert cce.weighted_cost(ZL, None, Y, w) == pytest.approx(7 / 4 * np.log(2), rel=1e-15)
    # squared error of two outputs: example errors (1, 1) and (2, 0): 2 and 4 over 2 outputs;
    # weights 3 and 1 -> (3 * 1 + 1 * 2) / 4 = 5/4
    AL = np.array([[1.0, 2.0], [1.0, 0.0]])
    mse = LOSSES["mean_squared_error"]
    got = mse.weighted_cost(AL, AL, np.zeros((2, 2)), example_weights(np.array([3.0, 1.0])))
    assert got == pytest.approx(1.25, rel=1e-15)


@pytest.mark.parametrize("name", list(LOSSES))
def test_weights_of_ones_give_the_unweighted_bits(name: str) -> None:
    rng = np.random.default_rng(3)
    loss = LOSSES[name]
    n = loss.check_targets.n_out
    Y = loss.check_targets.make(rng, n, 37)
    for dtype in (np.float64, np.float32):
        params = model.initialize_parameters([5, 4, n], "he", 2, dtype)
        X = rng.standard_normal((5, 37)).astype(dtype)
        arch = model.Architecture.build(["relu", loss.output], name)
        T = Y.astype(dtype)
        plain = model.cost_and_gradients(params, X, T, arch, l2=0.3)
        ones = model.cost_and_gradients(params, X, T, arch, l2=0.3, weights=np.ones(37))
        assert plain[0] == ones[0]
        assert all(np.array_equal(a, b) for a, b in zip(plain[1] + plain[2], ones[1] + ones[2]))
        assert all(a.dtype == dtype for a in ones[1] + ones[2])


@pytest.mark.parametrize("name", list(LOSSES))
def test_weighted_gradient_by_central_differences(name: str) -> None:
    """Reference: the weighted mean of each example's own unweighted loss, plus the L2 term over
    the sum of the weights, differentiated numerically (float64, eps 1e-6)."""
    rng = np.random.default_rng(5)
    loss = LOSSES[name]
    n = loss.check_targets.n_out
    m, l2 = 7, 0.4
    X = rng.standard_normal((3, m))
    Y = loss.check_targets.make(rng, n, m)
    w = np.array([0.0, 1.0, 2.5, 0.5, 4.0, 1.0, 3.0])
    arch = model.Architecture.build(["tanh", loss.output], name)
    params = model.initialize_parameters([3, 4, n], "xavier", 1)

    def J(p: model.Params) -> float:
        AL, ZL, _ = model.forward(p, X, arch)
        each = [loss.cost(ZL[:, i : i + 1], AL[:, i : i + 1], Y[:, i : i + 1]) for i in range(m)]
        return float(np.dot(w, each) / w.sum()) + model.l2_cost(p, l2, w.sum())

    cost, dWs, dbs = model.cost_and_gradients(params, X, Y, arch, l2=l2, weights=w)
    assert cost == pytest.approx(J(params), rel=1e-12)
    eps = 1e-6
    for P, G in zip(params.Ws + params.bs, dWs + dbs):
        num = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            saved = P[idx]
            P[idx] = saved + eps
            plus = J(params)
            P[idx] = saved - eps
            minus = J(params)
            P[idx] = saved
            num[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-9)


def test_a_zero_weight_removes_the_example() -> None:
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((4, 6)), rng.integers(0, 2, (1, 6)).astype(float)
    arch = model.Architecture.build(["relu", "sigmoid"], "binary_cross_entropy")
    params = model.initialize_parameters([4, 5, 1], "he", 3)
    w = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    kept = w > 0
    a = model.cost_and_gradients(params, X, Y, arch, l2=0.2, weights=w)
    b = model.cost_and_gradients(params, X[:, kept], Y[:, kept], arch, l2=0.2)
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    for x, y in zip(a[1] + a[2], b[1] + b[2]):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-16)
