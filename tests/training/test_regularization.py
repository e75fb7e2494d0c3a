"""L2 and inverted dropout: the cost term, the gradients, the mask statistics and scaling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config
from helpers.gradients import numeric_grads
from nnctl.core import (
    Architecture,
    Params,
    cost_and_gradients,
    dropout_masks,
    initialize_parameters,
)

ARCH = Architecture.build(["tanh", "relu", "sigmoid"], "binary_cross_entropy")


def small_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3, 6))
    Y = rng.integers(0, 2, (1, 6))
    return initialize_parameters([3, 4, 5, 1], "xavier", 1), X, Y


def test_l2_adds_lambda_over_2m_times_the_squared_weights() -> None:
    params = Params(
        [np.array([[1.0, 2.0]]), np.array([[3.0]])], [np.array([[9.0]]), np.array([[9.0]])]
    )
    X = np.array([[0.5, -1.0, 0.0, 2.0], [1.0, 0.0, 1.0, -1.0]])
    Y = np.array([[1, 0, 1, 0]])
    arch = Architecture.build(["relu", "sigmoid"], "binary_cross_entropy")
    plain, dWs0, dbs0 = cost_and_gradients(params, X, Y, arch)
    reg, dWs, dbs = cost_and_gradients(params, X, Y, arch, l2=0.4)
    # (1 + 4 + 9) * 0.4 / (2 * 4) = 0.7; biases are not penalized
    assert reg - plain == pytest.approx(0.7, rel=1e-12)
    np.testing.assert_allclose(dWs[0] - dWs0[0], 0.4 / 4 * np.array([[1.0, 2.0]]), rtol=1e-12)
    np.testing.assert_allclose(dWs[1] - dWs0[1], [[0.3]], rtol=1e-12)
    assert all(np.array_equal(a, b) for a, b in zip(dbs, dbs0))


def test_l2_gradient_matches_finite_differences() -> None:
    params, X, Y = small_problem()
    _, dWs, dbs = cost_and_gradients(params, X, Y, ARCH, l2=0.7)
    numeric = numeric_grads(lambda: cost_and_gradients(params, X, Y, ARCH, l2=0.7)[0], params)
    for got, want in zip((*dWs, *dbs), numeric):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_dropout_masks_keep_the_right_share_scaled_by_one_over_keep() -> None:
    masks = dropout_masks([200, 300, 50], [0.8, 0.5, 1.0], 1000, np.random.default_rng(0))
    assert masks[2] is None  # keep 1: no mask and no random draws
    for D, keep in zip(masks[:2], (0.8, 0.5)):
        assert D.shape == (D.shape[0], 1000)
        kept = D > 0
        # 2e5+ Bernoulli draws: the kept share is within 5 standard deviations of keep
        sd = np.sqrt(keep * (1 - keep) / D.size)
        assert abs(kept.mean() - keep) < 5 * sd
        assert np.all(D[kept] == 1 / keep) and np.all(D[~kept] == 0)
        assert abs(D.mean() - 1.0) < 5 * sd / keep  # inverted dropout keeps the expected activation
    again = dropout_masks([200, 300, 50], [0.8, 0.5, 1.0], 1000, np.random.default_rng(0))
    assert np.array_equal(masks[0], again[0])


def test_dropout_gradient_with_fixed_masks_matches_finite_differences() -> None:
    # tanh's derivative needs the activation before dropout: this fails if the dropped one is used
    params, X, Y = small_problem()
    masks = dropout_masks([4, 5], [0.6, 0.7], 6, np.random.default_rng(1))
    assert any(np.any(D == 0) for D in masks)
    _, dWs, dbs = cost_and_gradients(params, X, Y, ARCH, masks=masks, l2=0.1)
    f = lambda: cost_and_gradients(params, X, Y, ARCH, masks=masks, l2=0.1)[0]  # noqa: E731
    for got, want in zip((*dWs, *dbs), numeric_grads(f, params)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_dropout_zeroes_exactly_the_dropped_units_contribution() -> None:
    params, X, Y = small_problem()
    ones = [np.ones((4, 6)), np.ones((5, 6))]
    assert (
        cost_and_gradients(params, X, Y, ARCH, masks=ones)[0]
        == cost_and_gradients(params, X, Y, ARCH)[0]
    )
    # dropping every unit of hidden layer 2 leaves the output at sigmoid(b3) = 0.5 for all examples
    none_kept = [np.ones((4, 6)), np.zeros((5, 6))]
    cost = cost_and_gradients(params, X, Y, ARCH, masks=none_kept)[0]
    assert cost == pytest.approx(np.log(2))


MOONS = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 16, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 200
"""


def run(cli, tmp_path: Path, extra: str, name: str) -> dict:
    cfg = write_config(tmp_path / f"{name}.yaml", MOONS + extra)
    r = cli("train", cfg, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["params"] = dict(np.load(run_dir / "params.npz"))
    summary["history"] = (run_dir / "history.csv").read_text()
    return summary


def test_dropout_runs_are_reproducible_and_prediction_is_deterministic(
    cli, runs_dir, tmp_path
) -> None:
    a = run(cli, tmp_path, "dropout: 0.7\n", "a")
    b = run(cli, tmp_path, "dropout: 0.7\n", "b")
    plain = run(cli, tmp_path, "", "plain")
    assert a["history"] == b["history"]
    assert all(np.array_equal(a["params"][k], b["params"][k]) for k in a["params"])
    assert a["history"] != plain["history"]
    # accuracy is computed without dropout: recomputing it from the saved weights agrees
    from nnctl.config import load_config
    from nnctl.data import load_dataset
    from nnctl.training import score

    cfg = load_config(tmp_path / "a.yaml")
    ds = load_dataset(cfg.dataset)
    acc = score(
        Params.from_dict(a["params"]), cfg.with_input_dim(2), ds.X_train, ds.Y_train
    ).accuracy
    assert acc == a["train_accuracy"]


def test_l2_shrinks_the_weights(cli, runs_dir, tmp_path) -> None:
    plain = run(cli, tmp_path, "", "plain")
    reg = run(cli, tmp_path, "l2: 5.0\n", "reg")

    def norm(s: dict) -> float:
        return sum(float(np.sum(s["params"][k] ** 2)) for k in s["params"] if k.startswith("W"))

    assert norm(reg) < 0.8 * norm(plain)
