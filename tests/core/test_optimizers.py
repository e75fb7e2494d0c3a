"""Momentum, Adam and RMSprop against step-by-step hand computations, learning-rate decay, and the
mini-batch schedule (shuffle by index, every example once per epoch, epochs vs iterations)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import nnctl.commands.train as train_mod
import nnctl.training.loop as loop_mod
from nnctl.config import resolve
from nnctl.core import OPTIMIZERS, Adam, GradientDescent, Momentum, Params, RMSprop
from nnctl.system import STREAM_SHUFFLE, rng_for

W0 = [1.0, -2.0]
G1, G2 = [0.1, -0.2], [0.3, 0.05]


def one_layer() -> Params:
    return Params([np.array([W0])], [np.array([[0.5]])])


def grads(g: list[float], gb: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [np.array([g])], [np.array([[gb]])]


def test_table_names() -> None:
    assert OPTIMIZERS == {
        "gd": GradientDescent,
        "momentum": Momentum,
        "adam": Adam,
        "rmsprop": RMSprop,
    }


def test_momentum_two_steps_by_hand() -> None:
    p = one_layer()
    opt = Momentum(p, SimpleNamespace(hyperparameters={"beta": 0.9}))
    lr = 0.5
    opt.step(p, *grads(G1, 0.3), lr)
    opt.step(p, *grads(G2, -0.1), lr)
    for j in range(2):
        v1 = 0.1 * G1[j]
        v2 = 0.9 * v1 + 0.1 * G2[j]
        assert p.Ws[0][0, j] == pytest.approx(W0[j] - lr * v1 - lr * v2, rel=1e-15)
    vb2 = 0.9 * 0.03 + 0.1 * -0.1
    assert p.bs[0][0, 0] == pytest.approx(0.5 - lr * 0.03 - lr * vb2, rel=1e-15)


def test_adam_first_two_steps_by_hand() -> None:
    p = one_layer()
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = Adam(p, SimpleNamespace(hyperparameters={"beta1": b1, "beta2": b2, "epsilon": eps}))
    opt.step(p, *grads(G1, 0.3), lr)
    # step 1: bias correction makes v_hat = g and s_hat = g^2, so each weight moves by ~lr
    for j in range(2):
        g = G1[j]
        assert p.Ws[0][0, j] == pytest.approx(W0[j] - lr * g / (abs(g) + eps), rel=1e-14)
    assert p.Ws[0][0, 0] == pytest.approx(1.0 - 0.01, rel=1e-6)
    opt.step(p, *grads(G2, -0.1), lr)
    for j in range(2):
        g1, g2 = G1[j], G2[j]
        w1 = W0[j] - lr * g1 / (abs(g1) + eps)
        v = b1 * (1 - b1) * g1 + (1 - b1) * g2
        s = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
        v_hat, s_hat = v / (1 - b1**2), s / (1 - b2**2)
        assert p.Ws[0][0, j] == pytest.approx(w1 - lr * v_hat / (math.sqrt(s_hat) + eps), rel=1e-13)
    assert opt.t == 2


def test_rmsprop_two_steps_by_hand() -> None:
    p = one_layer()
    b2, eps, lr = 0.9, 1e-8, 0.01
    opt = RMSprop(p, SimpleNamespace(hyperparameters={"beta2": b2, "epsilon": eps}))
    opt.step(p, *grads(G1, 0.3), lr)
    opt.step(p, *grads(G2, -0.1), lr)
    for j in range(2):
        g1, g2 = G1[j], G2[j]
        s1 = (1 - b2) * g1**2
        s2 = b2 * s1 + (1 - b2) * g2**2
        w = W0[j] - lr * g1 / (math.sqrt(s1) + eps) - lr * g2 / (math.sqrt(s2) + eps)
        assert p.Ws[0][0, j] == pytest.approx(w, rel=1e-14)
        assert opt.s[0][0, j] == pytest.approx(s2, rel=1e-15)
    sb2 = b2 * (1 - b2) * 0.09 + (1 - b2) * 0.01
    b = 0.5 - lr * 0.3 / (math.sqrt((1 - b2) * 0.09) + eps) + lr * 0.1 / (math.sqrt(sb2) + eps)
    assert p.bs[0][0, 0] == pytest.approx(b, rel=1e-14)
    # no bias correction (the course's RMSprop): the first step moves a weight by
    # lr / sqrt(1 - b2) whatever its gradient
    q = one_layer()
    RMSprop(q, SimpleNamespace(hyperparameters={"beta2": b2, "epsilon": eps})).step(
        q, *grads(G1, 0.3), lr
    )
    assert q.Ws[0][0, 0] == pytest.approx(W0[0] - lr / math.sqrt(1 - b2), rel=1e-6)
    assert q.Ws[0][0, 1] == pytest.approx(W0[1] + lr / math.sqrt(1 - b2), rel=1e-6)


@pytest.mark.parametrize(
    "cls,hp",
    [
        (Adam, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
        (RMSprop, {"beta2": 0.9, "epsilon": 1e-8}),
    ],
)
def test_optimizer_state_round_trips(cls: type, hp: dict) -> None:
    p = one_layer()
    opt = cls(p, SimpleNamespace(hyperparameters=hp))
    opt.step(p, *grads(G1, 0.3), 0.01)
    other = cls(one_layer(), SimpleNamespace(hyperparameters=hp))
    other.load_state(opt.state())
    q = p.copy()
    opt.step(p, *grads(G2, 0.1), 0.01)
    other.step(q, *grads(G2, 0.1), 0.01)
    assert np.array_equal(p.Ws[0], q.Ws[0]) and np.array_equal(p.bs[0], q.bs[0])


RAW = {
    "dataset": {"synthetic": "moons", "m": 10, "test_fraction": 0.0, "seed": 1},
    "layer_dims": [2, 3, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.1,
}


def make_cfg(**kw):
    raw = {**RAW, **kw}
    if "iterations" not in raw and "epochs" not in raw:
        raw["iterations"] = 3
    return resolve(raw, "test.yaml")


def test_lr_decay_follows_the_course_formula() -> None:
    cfg = make_cfg(lr_decay={"rate": 1.0, "interval": 2})
    assert [loop_mod.learning_rate_at(cfg, e) for e in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.1 / 3]
    assert make_cfg(lr_decay=0.5).lr_decay == {"rate": 0.5, "interval": 1}
    assert loop_mod.learning_rate_at(make_cfg(), 7) == 0.1


def record_batches(monkeypatch, cfg, X, Y) -> list[np.ndarray]:
    """Runs fit and returns the X of every gradient step."""
    seen = []
    real = loop_mod.cost_and_gradients

    def spy(params, Xb, Yb, arch, **kw):
        seen.append(Xb.copy())
        return real(params, Xb, Yb, arch, **kw)

    monkeypatch.setattr(loop_mod, "cost_and_gradients", spy)
    result = train_mod.fit(cfg, X, Y)
    assert result.status == "complete"
    return seen


def test_mini_batches_shuffle_by_index_and_cover_each_epoch_once(monkeypatch) -> None:
    m = 10
    X = np.arange(2 * m, dtype=float).reshape(2, m)  # column j is (j, m + j): identifies example j
    Y = (np.arange(m) % 2).reshape(1, m)
    cfg = make_cfg(batch_size=4, epochs=3, seed=5)
    batches = record_batches(monkeypatch, cfg, X, Y)
    assert [b.shape[1] for b in batches] == [
        4,
        4,
        2,
    ] * 3  # the remainder forms a last, smaller batch
    orders = [np.concatenate([b[0] for b in batches[k : k + 3]]).astype(int) for k in (0, 3, 6)]
    for order in orders:
        assert sorted(order) == list(range(m))
    assert not np.array_equal(orders[0], orders[1])  # reshuffled every epoch
    rng = rng_for(5, STREAM_SHUFFLE)
    assert [o.tolist() for o in orders] == [rng.permutation(m).tolist() for _ in range(3)]
    # the same seed gives the same batches
    assert all(
        np.array_equal(a, b) for a, b in zip(batches, record_batches(monkeypatch, cfg, X, Y))
    )


def test_full_batch_keeps_the_dataset_order_and_draws_nothing(monkeypatch) -> None:
    X = np.arange(20, dtype=float).reshape(2, 10)
    Y = (np.arange(10) % 2).reshape(1, 10)
    batches = record_batches(monkeypatch, make_cfg(iterations=2), X, Y)
    assert len(batches) == 2 and all(np.array_equal(b, X) for b in batches)
    # a batch_size at least m is the full batch
    assert len(record_batches(monkeypatch, make_cfg(epochs=2, batch_size=50), X, Y)) == 2


def test_iterations_may_stop_inside_an_epoch(monkeypatch) -> None:
    X = np.arange(20, dtype=float).reshape(2, 10)
    Y = (np.arange(10) % 2).reshape(1, 10)
    batches = record_batches(monkeypatch, make_cfg(iterations=4, batch_size=4), X, Y)
    assert [b.shape[1] for b in batches] == [4, 4, 2, 4]


def test_the_loop_steps_with_the_decayed_rate_of_each_epoch(monkeypatch) -> None:
    rates = []
    monkeypatch.setattr(GradientDescent, "step", lambda self, p, dWs, dbs, lr: rates.append(lr))
    X = np.arange(20, dtype=float).reshape(2, 10)
    Y = (np.arange(10) % 2).reshape(1, 10)
    cfg = make_cfg(epochs=5, batch_size=5, lr_decay={"rate": 1.0, "interval": 2})
    train_mod.fit(cfg, X, Y)
    assert rates == [0.1] * 4 + [0.05] * 4 + [0.1 / 3] * 2  # two batches per epoch
