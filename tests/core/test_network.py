"""Initialization, shapes of the forward and backward passes, and the gradients."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.core import (
    Architecture,
    Params,
    backward,
    cost_and_gradients,
    forward,
    initialize_parameters,
    predict_proba,
)


def test_scaled_init_reproduces_the_course_draws() -> None:
    # The course: np.random.seed(1); W_l = np.random.randn(n_l, n_prev) / np.sqrt(n_prev)
    dims = [50, 20, 7, 5, 1]
    np.random.seed(1)
    expected = [np.random.randn(n, p) / np.sqrt(p) for p, n in zip(dims[:-1], dims[1:])]
    params = initialize_parameters(dims, "scaled", seed=1)
    for W, E in zip(params.Ws, expected):
        assert np.array_equal(W, E)
    assert all(np.array_equal(b, np.zeros((n, 1))) for b, n in zip(params.bs, dims[1:]))


def test_small_init_reproduces_the_course_two_layer_draws() -> None:
    np.random.seed(1)
    W1 = np.random.randn(7, 30) * 0.01
    W2 = np.random.randn(1, 7) * 0.01
    params = initialize_parameters([30, 7, 1], "small", seed=1)
    assert np.array_equal(params.Ws[0], W1) and np.array_equal(params.Ws[1], W2)


@pytest.mark.parametrize(
    "init,std",
    [
        ("he", np.sqrt(2 / 400)),
        ("xavier", np.sqrt(2 / 700)),
        ("scaled", np.sqrt(1 / 400)),
        ("small", 0.01),
    ],
)
def test_init_scales(init: str, std: float) -> None:
    W = initialize_parameters([400, 300], init, seed=0).Ws[0]
    assert W.std() == pytest.approx(std, rel=0.02)


def test_glorot_uniform_is_uniform_within_its_bound() -> None:
    # U(-r, r) with r = sqrt(6 / (n + n_prev)): std r / sqrt(3), every value inside (-r, r),
    # and a flat histogram (a normal draw would pile up in the middle deciles)
    r = np.sqrt(6 / (400 + 300))
    W = initialize_parameters([400, 300], "glorot_uniform", seed=0).Ws[0]
    assert np.abs(W).max() < r and np.abs(W).max() > 0.999 * r
    assert W.std() == pytest.approx(r / np.sqrt(3), rel=0.01)
    counts, _ = np.histogram(W, bins=10, range=(-r, r))
    assert np.all(np.abs(counts / W.size - 0.1) < 0.005)
    # the same randn draw, mapped through the normal CDF: the next layer's draw is unchanged
    he = initialize_parameters([400, 300, 7], "he", seed=0).Ws[1] / np.sqrt(2 / 300)
    gu = initialize_parameters([400, 300, 7], "glorot_uniform", seed=0).Ws[1]
    from math import erf, sqrt

    expected = np.vectorize(lambda z: erf(z / sqrt(2)))(he) * np.sqrt(6 / 307)
    np.testing.assert_allclose(gu, expected, rtol=1e-12)


def test_init_is_reproducible_per_seed_and_differs_across_seeds() -> None:
    a = initialize_parameters([10, 5, 1], "he", seed=7)
    b = initialize_parameters([10, 5, 1], "he", seed=7)
    c = initialize_parameters([10, 5, 1], "he", seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.Ws, b.Ws))
    assert not np.array_equal(a.Ws[0], c.Ws[0])


def test_float32_init_is_the_float64_draw_rounded() -> None:
    p64 = initialize_parameters([10, 4, 1], "scaled", seed=1)
    p32 = initialize_parameters([10, 4, 1], "scaled", seed=1, dtype=np.float32)
    assert p32.Ws[0].dtype == np.float32 and p32.bs[0].dtype == np.float32
    assert np.array_equal(p32.Ws[0], p64.Ws[0].astype(np.float32))


def test_params_dict_uses_course_names() -> None:
    p = initialize_parameters([6, 4, 3, 1], "he", seed=0)
    d = p.to_dict()
    assert list(d) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert d["W2"].shape == (3, 4) and d["b3"].shape == (1, 1)
    back = Params.from_dict(d)
    assert all(np.array_equal(x, y) for x, y in zip(back.Ws, p.Ws))


def _setup(dims, acts, m=11, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(dims[0], m)
    Y = (rng.rand(1, m) > 0.5).astype(np.int64)
    params = initialize_parameters(dims, "he", seed=seed)
    return params, X, Y, Architecture.build(acts, "binary_cross_entropy")


def test_forward_and_backward_shapes() -> None:
    dims = [6, 5, 4, 1]
    params, X, Y, arch = _setup(dims, ["relu", "tanh", "sigmoid"])
    AL, ZL, cache = forward(params, X, arch)
    assert AL.shape == ZL.shape == (1, 11)
    assert [a.shape for a in cache] == [(6, 11), (5, 11), (4, 11)]
    dWs, dbs = backward(params, cache, AL - Y, arch)
    assert [d.shape for d in dWs] == [W.shape for W in params.Ws]
    assert [d.shape for d in dbs] == [b.shape for b in params.bs]
    np.testing.assert_array_equal(predict_proba(params, X, arch), AL)


def _numeric_grad(params, X, Y, arch, eps=1e-6):
    grads = []
    for W in params.Ws + params.bs:
        g = np.zeros_like(W)
        for idx in np.ndindex(W.shape):  # a tiny network: every coordinate is checked
            old = W[idx]
            W[idx] = old + eps
            plus = cost_and_gradients(params, X, Y, arch)[0]
            W[idx] = old - eps
            minus = cost_and_gradients(params, X, Y, arch)[0]
            W[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "leaky_relu", "relu", "linear"])
def test_backprop_matches_central_differences(hidden: str) -> None:
    params, X, Y, arch = _setup([4, 5, 3, 1], [hidden, hidden, "sigmoid"], seed=3)
    _, dWs, dbs = cost_and_gradients(params, X, Y, arch)
    numeric = _numeric_grad(params, X, Y, arch)
    for analytic, num in zip(dWs + dbs, numeric):
        rel = np.linalg.norm(analytic - num) / (np.linalg.norm(analytic) + np.linalg.norm(num))
        assert rel < 1e-6
