"""The fast full-batch path (nnctl/training/fullbatch.py) gives the direct path's numbers, is
chosen only when it applies, and keeps float32 in float32."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnctl.training.fullbatch as fullbatch
from helpers import CONFIGS, course
from nnctl.commands import fit
from nnctl.config import load_config, resolve
from nnctl.core import Architecture, initialize_parameters
from nnctl.data import load_dataset
from nnctl.training import FactoredGD, factored_flops, fast_path_applies, fit_fullbatch

# The course's published results for configs/cat_deep.yaml (Deep Neural Network - Application).
COURSE_COST_0 = course.L_LAYER_COSTS[0]
COURSE_COST_2400 = course.L_LAYER_COSTS[24]
COURSE_TRAIN_ACC = 0.985645933014
COURSE_TEST_ACC = 0.8


def direct_fit(cfg, X, Y, monkeypatch, on_iteration=None):
    """nnctl.commands.train.fit with the fast path switched off. One BLAS thread: these products are
    small, and threads that spin while other processes hold the cores make them crawl."""
    with monkeypatch.context() as mp, threadpool_limits(limits=1, user_api="blas"):
        mp.setattr(fullbatch, "fast_path_applies", lambda cfg, X: False)
        return fit(cfg, X, Y, on_iteration)


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest magnitude."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def assert_same_run(fast, direct, tol: float = 1e-9) -> None:
    assert fast.status == direct.status
    assert len(fast.costs) == len(direct.costs)
    np.testing.assert_allclose(fast.costs, direct.costs, rtol=tol, atol=0)
    for name, p in direct.params.to_dict().items():
        q = fast.params.to_dict()[name]
        assert q.shape == p.shape and q.dtype == p.dtype, name
        assert rel(q, p) <= tol, (name, rel(q, p))


def wide_problem(n_x=300, m=60, dims=(16, 8, 1), seed=0, dtype="float64", **overrides):
    """A synthetic case with n_x > m: a linear rule on noisy features, labels 0/1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    w = rng.standard_normal(n_x)
    Y = (w @ X > 0).astype(np.int64).reshape(1, -1)
    raw = {
        "dataset": {"synthetic": "moons"},  # not loaded: X and Y are passed to fit directly
        "layer_dims": [n_x, *dims],
        "activations": (["tanh"] + ["relu"] * (len(dims) - 2))[: len(dims) - 1] + ["sigmoid"],
        "init": "xavier",
        "learning_rate": 0.05,
        "iterations": 300,
        "dtype": dtype,
        **overrides,
    }
    return resolve(raw, "wide.yaml"), X.astype(dtype), Y


def test_wide_synthetic_case_matches_direct_path(monkeypatch):
    cfg, X, Y = wide_problem()
    assert fast_path_applies(cfg, X)
    fast = fit_fullbatch(cfg, X, Y)
    direct = direct_fit(cfg, X, Y, monkeypatch)
    assert fast.status == "complete" and len(fast.costs) == 300
    assert fast.costs[-1] < 0.5 * fast.costs[0]  # it learned something, so the comparison bites
    assert_same_run(fast, direct)


def test_no_hidden_layer_matches_direct_path(monkeypatch):
    cfg, X, Y = wide_problem(dims=(1,))
    assert cfg.activations == ["sigmoid"] and fast_path_applies(cfg, X)
    assert_same_run(fit(cfg, X, Y), direct_fit(cfg, X, Y, monkeypatch))


def test_cat_data_matches_direct_path(cat_dir, monkeypatch):
    cfg = load_config(CONFIGS / "cat_deep.yaml", ["iterations=200"])
    ds = load_dataset(cfg.dataset, cfg.dtype, config_file=cfg.path)
    cfg = cfg.with_input_dim(ds.n_features)
    assert fast_path_applies(cfg, ds.X_train)
    fast = fit(cfg, ds.X_train, ds.Y_train)  # dispatches to the fast path
    direct = direct_fit(cfg, ds.X_train, ds.Y_train, monkeypatch)
    assert_same_run(fast, direct)
    assert fast.costs[0] == pytest.approx(COURSE_COST_0, rel=0, abs=course.COST_ABS)


def test_cat_data_float32_follows_the_direct_float32_path(cat_dir, monkeypatch):
    cfg = load_config(CONFIGS / "cat_deep.yaml", ["iterations=100", "dtype=float32"])
    ds = load_dataset(cfg.dataset, cfg.dtype, config_file=cfg.path)
    cfg = cfg.with_input_dim(ds.n_features)
    fast = fit(cfg, ds.X_train, ds.Y_train)
    direct = direct_fit(cfg, ds.X_train, ds.Y_train, monkeypatch)
    # float32 rounding differs between the two forms; a float32 XᵀX was 3e-5 off by here.
    np.testing.assert_allclose(fast.costs, direct.costs, rtol=1e-6)
    assert all(p.dtype == np.float32 for p in fast.params.to_dict().values())


def test_course_cat_deep_numbers_hold_through_the_cli(cli, runs_dir, cat_dir):
    r = cli("train", CONFIGS / "cat_deep.yaml", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    out = json.loads(r.stdout)
    run_dir = Path(out["run_dir"])
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2500
    assert float(rows[0]["cost"]) == pytest.approx(COURSE_COST_0, rel=0, abs=course.COST_ABS)
    assert float(rows[2400]["cost"]) == pytest.approx(COURSE_COST_2400, rel=0, abs=course.COST_ABS)
    assert out["train_accuracy"] == pytest.approx(COURSE_TRAIN_ACC, abs=1e-12)
    assert out["test_accuracy"] == pytest.approx(COURSE_TEST_ACC, abs=1e-12)
    with np.load(run_dir / "params.npz", allow_pickle=False) as npz:
        assert npz["W1"].shape == (20, 12288) and npz["b1"].shape == (20, 1)
        assert npz["W4"].shape == (1, 5)


def test_float32_stays_float32_in_the_loop():
    cfg, X, Y = wide_problem(dtype="float32")
    params = initialize_parameters(cfg.layer_dims, cfg.init, cfg.seed, np.float32)
    state = FactoredGD(params, X, Y, Architecture.build(cfg.activations, cfg.loss), 0.05)
    for _ in range(3):
        state.cost_and_gradients()
        state.update()
    arrays = {
        "P": state.P,
        "G": state.G,
        "C": state.C,
        "Z1": state.Z1,
        "Y": state.Y,
        "dZ1": state.dZ1,
        "db1": state.db1,
    }
    for l in range(1, params.L):
        arrays[f"dW{l + 1}"], arrays[f"db{l + 1}"] = state.dWs[l], state.dbs[l]
    arrays.update(state.materialize().to_dict())
    assert {k: a.dtype for k, a in arrays.items()} == {k: np.dtype(np.float32) for k in arrays}


def test_float32_follows_float64_closely():
    cfg64, X64, Y = wide_problem(iterations=100)
    cfg32, X32, _ = wide_problem(iterations=100, dtype="float32")
    r64, r32 = fit_fullbatch(cfg64, X64, Y), fit_fullbatch(cfg32, X32, Y)
    np.testing.assert_allclose(r32.costs, r64.costs, rtol=1e-4)
    assert r32.params.Ws[0].dtype == np.float32


def test_interrupt_keeps_the_last_complete_iteration(monkeypatch):
    cfg, X, Y = wide_problem(iterations=50)

    def stop_at_7(i, cost):
        if i == 7:
            raise KeyboardInterrupt

    fast = fit_fullbatch(cfg, X, Y, stop_at_7)
    direct = direct_fit(cfg, X, Y, monkeypatch, stop_at_7)
    assert fast.status == "interrupted" and len(fast.costs) == 8
    assert fast.message == direct.message == "interrupted after 8 of 50 iterations"
    assert_same_run(fast, direct)


def test_interrupt_inside_an_update_finishes_that_update(monkeypatch):
    cfg, X, Y = wide_problem(iterations=20)
    calls = {"n": 0}
    real = FactoredGD.finish_update

    def interrupted_once(self):
        # The 5th update is interrupted after its last layer (the loop runs from layer L down).
        calls["n"] += 1
        if calls["n"] == 5:
            Ws, bs = self.params.Ws, self.params.bs
            l = self._pending - 1
            Ws[l] -= self.lr * self.dWs[l]
            bs[l] -= self.lr * self.dbs[l]
            self._pending = l
            raise KeyboardInterrupt
        real(self)

    monkeypatch.setattr(FactoredGD, "finish_update", interrupted_once)
    fast = fit_fullbatch(cfg, X, Y)
    monkeypatch.undo()
    direct = direct_fit(dataclasses.replace(cfg, iterations=5), X, Y, monkeypatch)
    assert fast.status == "interrupted" and len(fast.costs) == 5
    np.testing.assert_allclose(fast.costs, direct.costs, rtol=1e-12)
    for name, p in direct.params.to_dict().items():
        assert rel(fast.params.to_dict()[name], p) <= 1e-9, name


def test_divergence_is_reported_like_the_direct_path(monkeypatch):
    cfg, X, Y = wide_problem(learning_rate=1e6, iterations=50)
    X = X * 1e3
    with np.errstate(all="ignore"):  # overflow is the point of this test
        fast = fit_fullbatch(cfg, X, Y)
        direct = direct_fit(cfg, X, Y, monkeypatch)
    assert fast.status == direct.status == "diverged"
    assert fast.message == direct.message
    assert "try a smaller learning_rate than 1000000.0" in fast.message
    assert len(fast.costs) == len(direct.costs)


def test_flop_model_and_when_the_fast_path_is_chosen():
    direct, factored = factored_flops(n_x=12288, m=209, n_1=20, iterations=2500)
    assert direct == 2500 * 2 * 20 * 12288 * 209
    assert factored == 12288 * 209**2 + 2 * 20 * 12288 * 209 + 2500 * 20 * 209**2
    cfg, X, _ = wide_problem()
    assert fast_path_applies(cfg, X)
    # One iteration does not repay XᵀX; few features (n_x < m) never do.
    assert not fast_path_applies(dataclasses.replace(cfg, iterations=1), X)
    cfg_narrow, X_narrow, _ = wide_problem(n_x=20, m=400)
    assert not fast_path_applies(cfg_narrow, X_narrow)
    # No hidden layer (logistic regression): its one layer is all of the work, and is factored.
    cfg_1, X_1, _ = wide_problem(dims=(1,))
    assert fast_path_applies(cfg_1, X_1)


def test_options_beyond_plain_full_batch_gd_turn_the_fast_path_off():
    """A key the fast loop does not implement must never be ignored silently."""
    cfg, X, _ = wide_problem()
    assert fast_path_applies(cfg, X)
    for change in (
        {"optimizer": "adam"},
        {"optimizer": "momentum", "hyperparameters": {"beta": 0.9}},
        {"l2": 0.7},
        {"dropout": 0.8},
        {"batch_size": 16},
        {"checkpoint_every": 10},
        {"lr_decay": {"rate": 1.0, "interval": 10}},
    ):
        assert not fast_path_applies(dataclasses.replace(cfg, **change), X), change


@pytest.mark.parametrize("head", ["softmax", "linear"])
def test_other_heads_on_the_fast_path_match_the_direct_path(monkeypatch, head):
    # The fast path must feed the loss its own targets (one-hot for softmax), as the direct loop
    # does.
    rng = np.random.default_rng(4)
    n_x, m, K = 300, 60, 3
    X = rng.standard_normal((n_x, m))
    if head == "softmax":
        Y = (rng.standard_normal((K, n_x)) @ X).argmax(axis=0).reshape(1, -1)
        dims, lr = [n_x, 16, K], 0.05
    else:
        Y = (rng.standard_normal((2, n_x)) @ X) / np.sqrt(n_x)
        dims, lr = [n_x, 16, 2], 0.01
    cfg = resolve(
        {
            "dataset": {"synthetic": "moons"},
            "layer_dims": dims,
            "activations": ["tanh", head],
            "init": "xavier",
            "learning_rate": lr,
            "iterations": 300,
        },
        "heads.yaml",
    )
    assert fast_path_applies(cfg, X)
    fast = fit(cfg, X, Y)
    direct = direct_fit(cfg, X, Y, monkeypatch)
    assert fast.status == "complete" and 0 < fast.costs[-1] < 0.8 * fast.costs[0]
    assert_same_run(fast, direct)


def test_on_epoch_sees_every_epoch_and_changes_nothing():
    """The trackers' hook (nnctl.training.OnEpoch): on the factored path every step is an
    epoch; the parameters it is handed are the course's form (W1 materialized) of that step,
    and asking for them leaves the run's bits as they were."""
    cfg, X, Y = wide_problem(iterations=40)
    assert fast_path_applies(cfg, X)
    seen: list[tuple[int, int, np.ndarray]] = []

    def on_epoch(epoch: int, iteration: int, params) -> None:
        if epoch % 10 == 0:
            seen.append((epoch, iteration, params().Ws[0].copy()))

    watched = fit_fullbatch(cfg, X, Y, on_epoch=on_epoch)
    plain = fit_fullbatch(cfg, X, Y)
    assert [(e, i) for e, i, _ in seen] == [(10, 10), (20, 20), (30, 30), (40, 40)]
    assert np.array_equal(seen[-1][2], watched.params.Ws[0])
    assert not np.array_equal(seen[0][2], seen[-1][2])
    assert watched.costs == plain.costs
    for a, b in zip(watched.params.Ws + watched.params.bs, plain.params.Ws + plain.params.bs):
        assert np.array_equal(a, b)
