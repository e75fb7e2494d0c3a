"""Batch normalization (``nnctl.core.batchnorm``): one full-batch step equals the course's
formulas done by hand, prediction uses the running averages, every optimizer moves gamma and
beta (and L2 leaves them alone), and the parameters are named as the course names them."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.config import resolve
from nnctl.core import (
    OPTIMIZERS,
    Architecture,
    BatchNorm,
    Params,
    cost_and_gradients,
    initialize_parameters,
    parameter_shapes,
    predict_proba,
)
from nnctl.training import fit_direct

EPS, MOMENTUM, LR = 1e-5, 0.8, 0.1


def _config(**extra):
    raw = {
        "dataset": {"synthetic": "moons"},
        "layer_dims": [3, 4, 2, 1],
        "activations": ["relu", "tanh", "sigmoid"],
        "init": "he",
        "seed": 3,
        "learning_rate": LR,
        "iterations": 1,
        "batch_norm": {"layers": [True, False], "momentum": MOMENTUM, "epsilon": EPS},
        **extra,
    }
    return resolve(raw, "bn.yaml")


def _data(m: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=(3, m)), (rng.random((1, m)) > 0.5).astype(np.float64)


def test_one_full_batch_step_equals_the_formulas_by_hand() -> None:
    X, Y = _data()
    m = X.shape[1]
    result = fit_direct(_config(), X, Y)
    # by hand, the course's way: np.random.seed(3), He weights layer by layer; layer 1
    # normalized (no b1; gamma1 = 1, beta1 = 0), layer 2 plain
    rng = np.random.RandomState(3)
    W1 = rng.randn(4, 3) * np.sqrt(2 / 3)
    W2 = rng.randn(2, 4) * np.sqrt(2 / 4)
    W3 = rng.randn(1, 2) * np.sqrt(2 / 2)
    g1, be1, b2, b3 = np.ones((4, 1)), np.zeros((4, 1)), np.zeros((2, 1)), np.zeros((1, 1))
    # forward: mini-batch statistics
    Z1 = W1 @ X
    mu = Z1.sum(axis=1, keepdims=True) / m
    var = ((Z1 - mu) ** 2).sum(axis=1, keepdims=True) / m
    Zn = (Z1 - mu) / np.sqrt(var + EPS)
    Zt = g1 * Zn + be1
    A1 = np.maximum(0, Zt)
    Z2 = W2 @ A1 + b2
    A2 = np.tanh(Z2)
    A3 = 1 / (1 + np.exp(-(W3 @ A2 + b3)))
    cost = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
    # backward, staged as in the batch-normalization paper (dvar, dmu), not nnctl's closed form
    dZ3 = (A3 - Y) / m
    dW3, db3 = dZ3 @ A2.T, dZ3.sum(axis=1, keepdims=True)
    dZ2 = (W3.T @ dZ3) * (1 - A2**2)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dZt = (W2.T @ dZ2) * (Zt > 0)
    dg1, dbe1 = (dZt * Zn).sum(axis=1, keepdims=True), dZt.sum(axis=1, keepdims=True)
    dZn = dZt * g1
    dvar = (dZn * (Z1 - mu)).sum(axis=1, keepdims=True) * -0.5 * (var + EPS) ** -1.5
    dmu = (-dZn / np.sqrt(var + EPS)).sum(axis=1, keepdims=True) + dvar * (-2 * (Z1 - mu)).sum(
        axis=1, keepdims=True
    ) / m
    dZ1 = dZn / np.sqrt(var + EPS) + dvar * 2 * (Z1 - mu) / m + dmu / m
    dW1 = dZ1 @ X.T
    want = {
        "W1": W1 - LR * dW1,
        "gamma1": g1 - LR * dg1,
        "beta1": be1 - LR * dbe1,
        "running_mean1": (1 - MOMENTUM) * mu,
        "running_var1": MOMENTUM * 1.0 + (1 - MOMENTUM) * var,
        "W2": W2 - LR * dW2,
        "b2": b2 - LR * db2,
        "W3": W3 - LR * dW3,
        "b3": b3 - LR * db3,
    }
    got = result.params.to_dict()
    assert list(got) == list(want)  # the names, in the order params.npz holds them
    assert result.costs[0] == pytest.approx(cost, rel=1e-13)
    start = initialize_parameters([3, 4, 2, 1], "he", 3, np.float64, BatchNorm((True, False)))
    for k, v in want.items():
        assert not np.allclose(v, start.to_dict()[k]), k  # the step moved every array
        np.testing.assert_allclose(got[k], v, rtol=1e-11, atol=1e-14, err_msg=k)


def test_prediction_uses_the_running_averages_one_example_at_a_time() -> None:
    X, Y = _data(40)
    cfg = _config(iterations=30)
    params = fit_direct(cfg, X, Y).params
    AL = predict_proba(params, X, cfg.arch)
    p = params.to_dict()
    Z1 = p["W1"] @ X
    A1 = np.maximum(
        0,
        p["gamma1"] * (Z1 - p["running_mean1"]) / np.sqrt(p["running_var1"] + EPS) + p["beta1"],
    )
    A2 = np.tanh(p["W2"] @ A1 + p["b2"])
    want = 1 / (1 + np.exp(-(p["W3"] @ A2 + p["b3"])))
    np.testing.assert_allclose(AL, want, rtol=1e-12)
    # an example's prediction does not depend on the examples scored with it
    assert np.array_equal(predict_proba(params, X[:, 5:6], cfg.arch)[0, 0], AL[0, 5])
    assert not np.allclose(p["running_var1"], 1.0) and not np.allclose(p["running_mean1"], 0.0)


def test_parameter_names_and_shapes() -> None:
    assert parameter_shapes([3, 4, 2, 1], [True, False]) == {
        "W1": (4, 3),
        "gamma1": (4, 1),
        "beta1": (4, 1),
        "running_mean1": (4, 1),
        "running_var1": (4, 1),
        "W2": (2, 4),
        "b2": (2, 1),
        "W3": (1, 2),
        "b3": (1, 1),
    }
    assert parameter_shapes([3, 4, 1]) == {"W1": (4, 3), "b1": (4, 1), "W2": (1, 4), "b2": (1, 1)}
    bn = initialize_parameters([3, 4, 2, 1], "he", 1, np.float64, BatchNorm((True, False)))
    plain = initialize_parameters([3, 4, 2, 1], "he", 1)
    # the same weight draws with and without batch normalization
    assert all(np.array_equal(a, b) for a, b in zip(bn.Ws, plain.Ws))
    back = Params.from_dict(bn.to_dict())
    assert back.to_dict().keys() == bn.to_dict().keys()
    assert back.gammas[1] is None and np.array_equal(back.variances[0], np.ones((4, 1)))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_moves_gamma_and_beta_as_any_parameter(name: str) -> None:
    """gamma and beta are updated by the optimizer's own rule: exactly as the same optimizer
    moves a plain weight and bias that start at the same values with the same gradients."""
    X, Y = _data(9)
    cfg = _config(optimizer=name)
    arch = cfg.arch
    params = initialize_parameters(cfg.layer_dims, "he", 3, np.float64, arch.batch_norm)
    opt = OPTIMIZERS[name](params, cfg)
    g, be = params.gammas[0], params.bs[0]
    twin = Params([g.copy()], [be.copy()])  # gamma as a W, beta as a b
    twin_opt = OPTIMIZERS[name](twin, cfg)
    for _ in range(3):
        dgammas: list = []
        _, dWs, dbs = cost_and_gradients(params, X, Y, arch, out=opt.grads, dgammas=dgammas)
        dg, dbe = dgammas[0].copy(), dbs[0].copy()
        opt.step(params, dWs, dbs, 0.05, dgammas)
        twin_opt.step(twin, [dg], [dbe], 0.05)
    assert np.array_equal(params.gammas[0], twin.Ws[0])
    assert np.array_equal(params.bs[0], twin.bs[0])
    assert not np.allclose(params.gammas[0], 1.0) and not np.allclose(params.bs[0], 0.0)
    # its state has an entry for gamma too (7 arrays: W1..W3, beta1, b2, b3, gamma1), so
    # checkpoints carry it
    state = [k for k in opt.state() if k != "t"]
    assert len(state) % 7 == 0 and all(f"{k[0]}6" in state for k in state)
    with pytest.raises(ValueError, match="dgammas"):
        opt.step(params, dWs, dbs, 0.05)


def test_l2_does_not_apply_to_gamma_and_beta() -> None:
    X, Y = _data(9)
    arch = _config().arch
    params = initialize_parameters([3, 4, 2, 1], "he", 3, np.float64, arch.batch_norm)
    params.gammas[0] += 0.5  # a gamma an L2 term would visibly pull on
    plain_g: list = []
    cost0, dWs0, dbs0 = cost_and_gradients(params, X, Y, arch, dgammas=plain_g)
    reg_g: list = []
    cost, dWs, dbs = cost_and_gradients(params, X, Y, arch, l2=0.3, dgammas=reg_g)
    assert cost == pytest.approx(cost0 + 0.3 / 18 * sum(np.sum(W * W) for W in params.Ws))
    assert np.array_equal(reg_g[0], plain_g[0]) and np.array_equal(dbs[0], dbs0[0])
    assert not np.array_equal(dWs[0], dWs0[0])


def test_a_run_without_batch_norm_has_the_plain_parameters() -> None:
    X, Y = _data(9)
    cfg = resolve(
        {
            "dataset": {"synthetic": "moons"},
            "layer_dims": [3, 4, 1],
            "activations": ["relu", "sigmoid"],
            "learning_rate": 0.1,
            "iterations": 3,
        },
        "plain.yaml",
    )
    assert cfg.batch_norm is None and cfg.arch.batch_norm is None
    params = fit_direct(cfg, X, Y).params
    assert list(params.to_dict()) == ["W1", "b1", "W2", "b2"]
    # batch_norm: false and a list of false are the same config, and the same run
    for off in (False, [False]):
        other = resolve({**_raw_of(cfg), "batch_norm": off}, "off.yaml")
        assert other == cfg
        same = fit_direct(other, X, Y).params.to_dict()
        assert all(np.array_equal(same[k], v) for k, v in params.to_dict().items())


def _raw_of(cfg) -> dict:
    d = cfg.to_dict()
    keys = ("dataset", "layer_dims", "activations", "learning_rate", "iterations")
    return {k: d[k] for k in keys}


def test_architecture_without_batch_norm_is_unchanged() -> None:
    assert Architecture.build(["relu", "sigmoid"], "binary_cross_entropy").batch_norm is None


def test_the_factored_full_batch_path_is_not_used_for_batch_norm() -> None:
    """The factored path (nnctl/training/fullbatch.py) does not implement batch_norm: a config
    that would take it without batch normalization takes the direct loop with it."""
    from nnctl.training.fullbatch import fast_path_applies

    raw = {
        "dataset": {"synthetic": "moons"},
        "layer_dims": [2000, 4, 1],
        "activations": ["relu", "sigmoid"],
        "learning_rate": 0.01,
        "iterations": 500,
    }
    X = np.zeros((2000, 50))
    assert fast_path_applies(resolve(raw, "wide.yaml"), X)
    assert not fast_path_applies(resolve({**raw, "batch_norm": True}, "wide.yaml"), X)
