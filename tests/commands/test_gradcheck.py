"""nnctl gradcheck: passes on the real backward pass, fails (naming the array) on a broken one,
checks configs and runs, and refuses bad input with one line (ReLU kinks:
test_gradcheck_kinks.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, MOONS_SMALL, write_config
from helpers.gradients import by_param, run_json
from nnctl.commands import gradcheck
from nnctl.core import ACTIVATIONS, Activation, activations, losses
from nnctl.core import network as model

TOL = 1e-7


def wrong_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Passes dA through unchanged: the derivative of the identity, wrong for relu and sigmoid."""
    return dA


# --------------------------------------------------------------------------- the suite


@pytest.fixture(scope="module")
def suite() -> tuple:
    """The default suite, run once for the tests that only read it: (text result, json result)."""
    from typer.testing import CliRunner

    from nnctl.cli import app

    runner = CliRunner()
    return runner.invoke(app, ["gradcheck"]), runner.invoke(app, ["gradcheck", "--json"])


def test_suite_passes_far_below_tolerance_and_covers_the_tables(suite) -> None:
    r = suite[1]
    code, rep, err = r.exit_code, json.loads(r.stdout), r.stderr
    assert code == 0, err
    assert rep["passed"] is True
    assert (
        (rep["eps"], rep["tol"], rep["seed"])
        == (gradcheck.DEFAULT_EPS, gradcheck.DEFAULT_TOL, 0)
        == (1e-5, 1e-7, 0)
    )
    assert rep["max_relative_error"] < TOL / 5
    errors = [c["relative_error"] for c in rep["checks"]]
    assert np.median(errors) < 1e-9  # measured ~5e-11 with eps 1e-5
    assert all(c["passed"] for c in rep["checks"]) and all(c["passed"] for c in rep["cost_checks"])
    nets = {c["network"] for c in rep["checks"]}
    # every hidden activation, every output/loss pair, depths 1..4, three weight scales
    for name in activations.hidden_activation_names():
        assert any(n.startswith(f"{name}-{name}-{name} ->") for n in nets), name
    assert not any("softmax-" in n for n in nets)  # softmax is an output activation only
    for name, loss in losses.LOSSES.items():
        assert any(f"-> {loss.output}/{name}," in n for n in nets), name
    depths = {
        max(int(re.sub(r"^\D+", "", c["parameter"])) for c in rep["checks"] if c["network"] == n)
        for n in nets
    }
    assert depths == {1, 2, 3, 4}
    assert {n.rsplit("scale ", 1)[1] for n in nets} == {
        "0.5",
        "1.0",
        "2.0",
        "1.0, l2=0.7",
        "1.0, weights, l2=0.7",  # per-example weights, a zero among them, with the L2 term
        "1.0, batch_norm (all hidden)",
        "1.0, batch_norm (hidden layer 1)",
    }
    # every array of a small network is checked exhaustively, plus a direction
    for c in rep["checks"]:
        assert c["coordinates"] + c["skipped_at_kinks"] == c["size"]
        assert c["direction_relative_error"] is not None


def test_suite_table_and_verdict_on_stdout(suite) -> None:
    r = suite[0]
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "gradcheck: built-in suite"
    assert any(line.split()[:2] == ["relu", "sigmoid/binary_cross_entropy"] for line in lines)
    rep = json.loads(suite[1].stdout)
    assert lines[-1].startswith(
        f"PASSED: {len(rep['checks'])} parameter arrays in {rep['networks']} networks, max "
        "relative error "
    )
    assert r.stderr == "note: dropout switched off during the check (it makes the cost random)\n"


def test_broken_relu_derivative_fails_and_names_the_arrays(cli, monkeypatch) -> None:
    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    monkeypatch.setitem(ACTIVATIONS, "relu", Activation(activations.relu, wrong_backward))
    code, rep, _ = run_json(cli)
    assert code == 1
    assert rep["passed"] is False and rep["max_relative_error"] > 1e-2
    failed = [c for c in rep["checks"] if not c["passed"]]
    # exactly the networks with a relu hidden layer fail, and in each the arrays below a relu
    assert failed and all("relu" in c["network"].split(" ->")[0].split("-") for c in failed)
    single = [
        c for c in failed if c["network"].startswith("relu ->") and "batch_norm" not in c["network"]
    ]
    assert {c["parameter"] for c in single} == {"W1", "b1"}
    assert all(c["passed"] for c in rep["checks"] if c["network"].startswith("tanh-"))

    r = cli("gradcheck")
    assert r.exit_code == 1
    verdict = r.stdout.splitlines()[-1]
    assert verdict.startswith(
        "FAILED (tolerance 1e-07, eps 1e-05): W1, b1, W2, b2, W3, b3 of relu hidden -> "
        "sigmoid/binary_cross_entropy"
    )
    assert "W1, b1, W2, b2, W3, b3 of mixed hidden" in verdict
    assert "tanh hidden" not in verdict


def test_broken_sigmoid_derivative_fails_on_a_config(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", Activation(activations.sigmoid, wrong_backward))
    cfg = write_config(
        tmp_path / "sig.yaml", MOONS_SMALL.replace("[relu, sigmoid]", "[sigmoid, sigmoid]")
    )
    code, rep, _ = run_json(cli, str(cfg))
    assert code == 1
    p = by_param(rep)
    # the hidden sigmoid's derivative is used for layer 1 only; the output's is fused with the loss
    assert not p["W1"]["passed"] and not p["b1"]["passed"]
    assert p["W1"]["relative_error"] > 0.1
    assert p["W2"]["passed"] and p["b2"]["passed"]
    r = cli("gradcheck", cfg)
    assert r.exit_code == 1
    assert "FAILED (tolerance 1e-07, eps 1e-05): W1, b1 of sig: sigmoid -> sigmoid" in r.stdout


def test_examples_without_a_config_is_a_notice(cli, monkeypatch) -> None:
    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    r = cli("gradcheck", "--examples", "3")
    assert r.exit_code == 0
    assert (
        r.stderr.splitlines()[0]
        == "note: --examples applies to a config or run; the suite uses its own random examples"
    )


def test_a_new_activation_joins_the_suite(cli, monkeypatch) -> None:
    def softplus(Z: np.ndarray) -> np.ndarray:
        return np.logaddexp(0, Z)

    def softplus_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
        return dA * -np.expm1(-A)  # sigmoid(Z) = 1 - exp(-softplus(Z))

    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    monkeypatch.setitem(ACTIVATIONS, "softplus", Activation(softplus, softplus_backward))
    code, rep, _ = run_json(cli)
    assert code == 0
    mine = [
        c
        for c in rep["checks"]
        if "softplus" in c["network"]
        and c["network"].endswith("sigmoid/binary_cross_entropy, scale 1.0")
    ]
    uniform = {
        n for n in (c["network"] for c in mine) if set(n.split(" ->")[0].split("-")) == {"softplus"}
    }
    assert len(uniform) == 3  # depths 2, 3, 4
    assert len({c["network"] for c in mine}) == 6  # and in three of the mixed networks
    assert all(c["passed"] for c in mine)


def test_a_loss_without_a_target_maker_is_a_clear_error(cli, monkeypatch) -> None:
    monkeypatch.setitem(
        losses.LOSSES, "hinge", losses.Loss(lambda Z, A, Y: 0.0, lambda A, Y: A, "linear")
    )
    r = cli("gradcheck")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: gradcheck cannot make targets for the loss 'hinge'; "
        "give its entry in nnctl.core.losses.LOSSES check_targets"
    )
    assert r.stdout == ""


def test_cost_keywords_join_the_suite_and_randomness_is_switched_off(cli, monkeypatch) -> None:
    """What the training-features issue will add: l2 and dropout keywords of cost_and_gradients."""
    original = model.cost_and_gradients

    def with_l2(params, X, Y, arch, l2=0.0, masks=None, broken=False):
        cost, dWs, dbs = original(params, X, Y, arch)
        m = X.shape[1]
        cost += gradcheck.l2_penalty(l2, params, m)
        factor = 2.0 if broken else 1.0  # broken: the gradient of λ/(2m)‖W‖² taken as 2λW/m
        return cost, [dW + factor * l2 / m * W for dW, W in zip(dWs, params.Ws)], dbs

    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    monkeypatch.setattr(model, "cost_and_gradients", with_l2)
    code, rep, err = run_json(cli)
    assert code == 0
    assert "note: dropout switched off during the check" in err
    assert "cost_and_gradients(broken=...) is left at its default False" in err
    l2_nets = {c["network"] for c in rep["checks"] if c["network"].endswith(", l2=0.7")}
    base_nets = {c["network"] for c in rep["checks"] if "l2=" not in c["network"]}
    assert len(l2_nets) == len(base_nets)  # every network of the scale-1 suite, once more with l2

    # Now exercise 'broken' too (as a keyword whose cost term is zero): l2's gradient is wrong.
    monkeypatch.setitem(gradcheck.KEYWORDS, "broken", gradcheck.Keyword(True, lambda v, p, m: 0.0))
    code, rep, _ = run_json(cli)
    assert code == 1
    failed = {(c["network"], c["parameter"]) for c in rep["checks"] if not c["passed"]}
    assert failed and all(p.startswith("W") and "l2=0.7" in n for n, p in failed)


def test_weights_that_only_the_cost_honours_fail_the_check(cli, monkeypatch) -> None:
    """A cost_and_gradients whose cost is weighted but whose gradient forgets the weights (the
    mistake a weighted loss invites) fails on the weighted networks and only on them."""
    original = model.cost_and_gradients

    def cost_only(params, X, Y, arch, l2=0.0, masks=None, out=None, weights=None):
        cost, _, _ = original(params, X, Y, arch, l2=l2, weights=weights)
        _, dWs, dbs = original(params, X, Y, arch, l2=l2)
        return cost, dWs, dbs

    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    monkeypatch.setattr(model, "cost_and_gradients", cost_only)
    code, rep, _ = run_json(cli)
    assert code == 1
    failed = {c["network"] for c in rep["checks"] if not c["passed"]}
    weighted = {c["network"] for c in rep["checks"] if ", weights" in c["network"]}
    assert failed and failed <= weighted
    assert all(c["passed"] for c in rep["cost_checks"])  # the cost itself is right


def test_batch_norm_cases_check_gamma_and_beta(suite) -> None:
    rep = json.loads(suite[1].stdout)
    bn = [c for c in rep["checks"] if "batch_norm" in c["network"]]
    names = {(c["network"].split(" ->")[0], c["parameter"]) for c in bn}
    # all hidden layers normalized: gamma and beta in place of b; only the first: b2 stays
    assert {("relu", "gamma1"), ("relu", "beta1"), ("relu", "W2"), ("relu", "b2")} <= names
    assert ("relu", "b1") not in names
    assert {("tanh-tanh", "gamma1"), ("tanh-tanh", "b2"), ("tanh-tanh", "W1")} <= names
    assert ("tanh-tanh", "gamma2") not in names
    assert any(n.startswith("relu-leaky_relu-tanh") and p == "gamma3" for n, p in names)
    assert all(c["passed"] and c["relative_error"] < TOL / 5 for c in bn)


def test_a_backward_pass_that_ignores_the_batch_statistics_fails(cli, monkeypatch) -> None:
    """Treating mu and var as constants (dZ = gamma / std * dZt) is the classic mistake: the
    check fails on the arrays below a normalized layer and nowhere else."""

    def constant_statistics(dZt, cache, gamma, dgamma=None, dbeta=None):
        m = dZt.shape[1]
        dbeta = np.sum(dZt, axis=1, keepdims=True) / m
        dgamma = np.sum(dZt * cache.Z_norm, axis=1, keepdims=True) / m
        return dZt * (gamma / cache.std), dgamma, dbeta

    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    monkeypatch.setattr(model, "batch_norm_backward", constant_statistics)
    code, rep, _ = run_json(cli)
    assert code == 1
    failed = {(c["network"], c["parameter"]) for c in rep["checks"] if not c["passed"]}
    assert failed and all("batch_norm" in n for n, _ in failed)
    assert ("relu -> sigmoid/binary_cross_entropy, scale 1.0, batch_norm (all hidden)", "W1") in (
        failed
    )
    # gamma1 and beta1 of a single normalized layer get their gradients before the mistake
    assert not any(n.startswith("relu ->") and p in ("gamma1", "beta1") for n, p in failed)


def test_a_batch_normalized_config_is_checked(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "bn.yaml",
        MOONS_SMALL.replace("[auto, 8, 1]", "[auto, 8, 4, 1]").replace(
            "[relu, sigmoid]", "[tanh, relu, sigmoid]"
        )
        + "batch_norm: [true, false]\n",
    )
    code, rep, err = run_json(cli, str(cfg))
    assert code == 0, err
    p = by_param(rep)
    assert list(p) == ["W1", "gamma1", "beta1", "W2", "b2", "W3", "b3"]
    assert all(c["status"] == "passed" for c in rep["checks"])
    assert rep["max_relative_error"] < TOL / 10


# --------------------------------------------------------------------------- configs and runs


def test_config_check_samples_coordinates(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "moons_small.yaml", MOONS_SMALL.replace("[auto, 8, 1]", "[auto, 30, 1]")
    )
    code, rep, err = run_json(cli, str(cfg), "--max-coords", "20", "--examples", "5")
    assert code == 0 and err == ""
    assert rep["target"] == f"config {cfg}"
    p = by_param(rep)
    assert list(p) == ["W1", "b1", "W2", "b2"]
    assert [p[k]["shape"] for k in p] == [[30, 2], [30, 1], [1, 30], [1, 1]]
    assert [p[k]["coordinates"] for k in p] == [20, 20, 20, 1]
    assert rep["checks"][0]["network"].endswith(", 5 examples")
    assert rep["max_relative_error"] < TOL / 10

    # --seed picks the sample: the same seed repeats the report, another changes W1's errors
    _, again, _ = run_json(cli, str(cfg), "--max-coords", "20", "--examples", "5")
    _, other, _ = run_json(cli, str(cfg), "--max-coords", "20", "--examples", "5", "--seed", "7")
    assert again == rep
    assert by_param(other)["W1"]["relative_error"] != p["W1"]["relative_error"]
    assert by_param(other)["b2"]["relative_error"] == p["b2"]["relative_error"]  # 1 coordinate


def test_float32_config_is_checked_in_float64(cli, tmp_path) -> None:
    cfg = write_config(tmp_path / "f32.yaml", MOONS_SMALL + "dtype: float32\n")
    code, rep, err = run_json(cli, str(cfg))
    assert code == 0
    assert (
        err.strip()
        == "note: float32 config: parameters and data converted to float64 for the check"
    )
    # float32 rounding alone would keep the errors above ~1e-5; float64 passes far below 1e-7
    assert rep["max_relative_error"] < TOL / 10


def test_run_check_uses_the_trained_parameters(cli, moons_run: Path, tmp_path) -> None:
    code, rep, err = run_json(cli, "latest", "--examples", "1000")  # all 150 training examples
    assert code == 0, err
    assert rep["target"] == f"run {moons_run.name}"
    assert rep["max_relative_error"] < TOL / 10
    # The trained parameters were loaded: the cost on the whole training set is the one training
    # ended with (one small step later), far below a fresh network's.
    final_cost = json.loads((moons_run / "summary.json").read_text())["final_cost"]
    cost = rep["cost_checks"][0]["cost"]
    assert final_cost - 1e-3 < cost <= final_cost
    cfg = write_config(tmp_path / "moons_small.yaml", MOONS_SMALL)
    _, fresh, _ = run_json(cli, str(cfg), "--examples", "1000")
    assert fresh["cost_checks"][0]["cost"] > cost + 0.1
    r = cli("gradcheck", moons_run.name[:15])  # a unique prefix
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == f"gradcheck: run {moons_run.name}"


def test_cat_config_and_run(cli, cat_run: Path) -> None:
    code, rep, err = run_json(cli, str(CONFIGS / "cat_deep.yaml"))
    assert code == 0, err
    p = by_param(rep)
    assert p["W1"]["shape"] == [20, 12288] and p["W1"]["coordinates"] == 50
    assert rep["max_relative_error"] < TOL / 10
    code, rep, err = run_json(cli, str(cat_run))
    assert code == 0, err
    assert rep["passed"] and rep["max_relative_error"] < TOL / 10


def test_run_without_params_is_refused(cli, moons_run: Path) -> None:
    (moons_run / "params.npz").unlink()
    r = cli("gradcheck", str(moons_run))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == (
        f"error: {moons_run}: has no params.npz (status: complete); only complete runs have "
        "trained parameters"
    )


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.yaml"], "error: nope.yaml: no such config file"),
        (["nope"], "error: nope: no run with this id or prefix in"),
        (
            ["--eps", "0"],
            "error: --eps: must be a step size between 0 and 1 (exclusive), got 0.0; e.g. 1e-5",
        ),
        (
            ["--eps", "2"],
            "error: --eps: must be a step size between 0 and 1 (exclusive), got 2.0; e.g. 1e-5",
        ),
        (
            ["--tol", "-1"],
            "error: --tol: must be a relative error between 0 and 1 (exclusive), "
            "got -1.0; e.g. 1e-7",
        ),
        (["--max-coords", "0"], "error: --max-coords: must be at least 1, got 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, runs_dir, args: list[str], message: str) -> None:
    r = cli("gradcheck", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith(message)


def test_bad_examples_on_a_config(cli, tmp_path) -> None:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = cli("gradcheck", cfg, "--examples", "0")
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: --examples: must be at least 1, got 0"


def test_a_non_finite_cost_fails_and_still_gives_valid_json() -> None:
    X = np.array([[1.0, 2.0]])
    params = model.Params([np.array([[np.nan]])], [np.array([[0.0]])])
    arch = model.Architecture.build(["sigmoid"], "binary_cross_entropy")
    case = gradcheck.Case("nan", ("", "sigmoid"), params, X, np.array([[1.0, 0.0]]), arch)
    report = gradcheck.Report("nan", 1e-5, TOL, 0)
    gradcheck.check_case(case, 1e-5, TOL, 50, np.random.default_rng(0), report)
    assert not report.passed
    out = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert out["passed"] is False and out["max_relative_error"] is None
    assert out["cost_checks"][0]["cost"] is None and out["cost_checks"][0]["passed"] is False
