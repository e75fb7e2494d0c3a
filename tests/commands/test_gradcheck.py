"""nnctl gradcheck: passes on the real backward pass, fails (naming the array) on a broken one,
checks configs and runs, skips ReLU kinks (choosing examples clear of them), reports an array
with nothing compared as unchecked, and refuses bad input with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, MOONS_SMALL, write_config
from nnctl.commands import gradcheck
from nnctl.core import ACTIVATIONS, Activation, activations, losses
from nnctl.core import network as model

TOL = 1e-7


def run_json(cli, *args: str) -> tuple[int, dict, str]:
    r = cli("gradcheck", *args, "--json")
    return r.exit_code, json.loads(r.stdout), r.stderr


def by_param(report: dict) -> dict[str, dict]:
    return {c["parameter"]: c for c in report["checks"]}


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
        max(int(c["parameter"][1:]) for c in rep["checks"] if c["network"] == n) for n in nets
    }
    assert depths == {1, 2, 3, 4}
    assert {n.rsplit("scale ", 1)[1] for n in nets} == {"0.5", "1.0", "2.0", "1.0, l2=0.7"}
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
    single = [c for c in failed if c["network"].startswith("relu ->")]
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


# --------------------------------------------------------------------------- ReLU kinks


def test_coordinates_whose_step_crosses_a_relu_kink_are_skipped() -> None:
    eps = 1e-5
    X = np.array([[1.0, 2.0]])  # (n_x=1, m=2)
    # unit 1's pre-activation on example 1 is 3e-6: any step of 1e-5 in W1[0,0] or b1[0] crosses 0
    params = model.Params(
        [np.array([[1.0], [0.5]]), np.array([[1.0, -2.0]])],
        [np.array([[-1.0 + 3e-6], [0.2]]), np.array([[0.1]])],
    )
    Y = np.array([[1.0, 0.0]])
    arch = model.Architecture.build(["relu", "sigmoid"], "binary_cross_entropy")
    case = gradcheck.Case("kink", ("relu", "sigmoid"), params, X, Y, arch)
    report = gradcheck.Report("kink", eps, TOL, 0)
    gradcheck.check_case(case, eps, TOL, 50, np.random.default_rng(0), report)
    checks = {c.parameter: c for c in report.checks}
    assert checks["W1"].skipped == 1 and checks["b1"].skipped == 1
    assert checks["W1"].coords == 1 and checks["W2"].skipped == 0
    assert report.passed

    # Without the skip, the straddling difference is far off the derivative.
    _, _, dbs = model.cost_and_gradients(params.copy(), X, Y, arch)

    def J(b10: float) -> float:
        p = params.copy()
        p.bs[0][0, 0] = b10
        AL, ZL, _ = model.forward(p, X, arch)
        return arch.loss.cost(ZL, AL, Y)

    b = params.bs[0][0, 0]
    straddling = (J(b + eps) - J(b - eps)) / (2 * eps)
    assert gradcheck.relative_error(dbs[0][0, 0], straddling) > 1e-3


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


def test_an_array_whose_every_step_crosses_a_kink_is_unchecked_not_passed() -> None:
    # one relu unit whose pre-activations are 3e-6 and -2e-6: every step of b1 or W1 crosses 0
    X = np.array([[1.0, -1.0]])
    params = model.Params(
        [np.array([[2.5e-6]]), np.array([[1.0]])], [np.array([[0.5e-6]]), np.array([[0.0]])]
    )
    arch = model.Architecture.build(["relu", "sigmoid"], "binary_cross_entropy")
    case = gradcheck.Case("all kinks", ("relu", "sigmoid"), params, X, np.array([[1.0, 0.0]]), arch)
    report = gradcheck.Report("all kinks", 1e-5, TOL, 0)
    gradcheck.check_case(case, 1e-5, TOL, 50, np.random.default_rng(0), report)
    checks = {c.parameter: c for c in report.checks}
    assert (
        checks["b1"].coords == 0
        and checks["b1"].skipped == 1
        and checks["b1"].direction_error is None
    )
    # nothing compared is neither a pass nor a failure: unchecked, and the report does not pass
    assert [c.status for c in report.checks] == ["unchecked", "unchecked", "passed", "passed"]
    assert not checks["b1"].passed and not checks["W1"].passed
    assert not report.passed
    assert [c.parameter for c in report.unchecked()] == ["W1", "b1"] and report.failures() == []
    out = report.to_json()
    assert out["passed"] is False and out["unchecked"] == 2
    assert [c["status"] for c in out["checks"]] == ["unchecked", "unchecked", "passed", "passed"]
    assert [c["passed"] for c in out["checks"]] == [False, False, True, True]


def origin_case() -> tuple[model.Params, np.ndarray, model.Architecture, gradcheck.Case]:
    """One example at the origin and zero biases: the relu unit's Z is exactly 0 whatever W1 is."""
    X = np.zeros((2, 1))
    params = model.Params(
        [np.array([[0.7, -0.4]]), np.array([[1.3]])], [np.zeros((1, 1)), np.zeros((1, 1))]
    )
    arch = model.Architecture.build(["relu", "sigmoid"], "binary_cross_entropy")
    return (
        params,
        X,
        arch,
        gradcheck.Case("origin", ("relu", "sigmoid"), params, X, np.array([[1.0]]), arch),
    )


def test_a_unit_exactly_on_its_kink_is_unchecked_and_fails_the_report() -> None:
    params, X, arch, case = origin_case()
    report = gradcheck.Report("origin", 1e-5, TOL, 0)
    gradcheck.check_case(case, 1e-5, TOL, 50, np.random.default_rng(0), report)
    checks = {c.parameter: c for c in report.checks}
    # b1 ± eps moves Z across 0 on the only example; W1 steps do not move Z (x = 0)
    assert checks["b1"].status == "unchecked" and checks["b1"].coords == 0
    assert checks["W1"].status == "passed" and checks["W1"].coords == 2
    assert not report.passed and report.to_json()["unchecked"] == 1


def test_choose_examples_moves_the_biases_only_when_no_example_is_clear() -> None:
    params, X, arch, _ = origin_case()
    assert gradcheck.clear_examples(params, X, arch, 1e-5, 8).size == 0
    point = gradcheck.choose_examples(params, X, arch, 1e-5, 8, seed=0)
    assert point.clear and point.examples.tolist() == [0]
    # the hidden bias moved by 0.5e-3 to 1e-3 (|x| = 0, so s_1 = 1); the output bias and the
    # weights did not move, nor did the caller's parameters
    assert 0.5 * gradcheck.KINK_JITTER <= point.bias_jitter <= gradcheck.KINK_JITTER
    assert abs(point.params.bs[0][0, 0]) == point.bias_jitter and point.params.bs[1][0, 0] == 0.0
    assert params.bs[0][0, 0] == 0.0
    # deterministic for a seed, another seed draws another jitter
    again = gradcheck.choose_examples(params, X, arch, 1e-5, 8, seed=0)
    other = gradcheck.choose_examples(params, X, arch, 1e-5, 8, seed=1)
    assert again.params.bs[0][0, 0] == point.params.bs[0][0, 0] != other.params.bs[0][0, 0]
    # at the moved point every array is compared and passes
    case = gradcheck.Case("moved", ("relu", "sigmoid"), point.params, X, np.array([[1.0]]), arch)
    report = gradcheck.Report("moved", 1e-5, TOL, 0)
    gradcheck.check_case(case, 1e-5, TOL, 50, np.random.default_rng(0), report)
    assert report.passed and all(c.coords > 0 and c.skipped == 0 for c in report.checks)

    # examples clear of the kinks are preferred to moving the point: the origin is passed over
    X2 = np.array([[0.0, 1.0, -2.0], [0.0, 0.5, 1.0]])
    point = gradcheck.choose_examples(params, X2, arch, 1e-5, 8, seed=0)
    assert (
        point.examples.tolist() == [1, 2] and point.bias_jitter is None and point.params is params
    )
    # an example whose Z is nonzero but within reach of a step is passed over too:
    # Z = 1e-5 there, a step of 1e-5 in b1 reaches 0
    X3 = np.array([[1e-5 / 0.7, 1.0], [0.0, 0.0]])
    assert gradcheck.clear_examples(params, X3, arch, 1e-5, 8).tolist() == [1]


def test_spiral_config_checks_every_array(cli) -> None:
    """The spiral's first training example is the origin and its biases start at 0, so every
    step in b1 and b2 crossed a kink there; that example is passed over."""
    code, rep, err = run_json(cli, str(CONFIGS / "spiral.yaml"))
    assert code == 0, err
    assert rep["passed"] is True and rep["unchecked"] == 0
    assert all(c["status"] == "passed" and c["coordinates"] > 0 for c in rep["checks"])
    assert all(c["skipped_at_kinks"] == 0 for c in rep["checks"])  # clear examples: no step crosses
    p = by_param(rep)
    assert p["b1"]["coordinates"] == 32 and p["b2"]["coordinates"] == 32
    assert rep["perturbed"] is False and rep["bias_jitter"] is None
    assert len(rep["examples"]) == 8 and 0 not in rep["examples"]
    assert rep["max_relative_error"] < TOL / 10
    assert err.startswith(
        "note: training examples 0-1 passed over (a hidden pre-activation within a step"
    )
    assert err.rstrip().endswith(f"checking examples {rep['examples'][0]}-{rep['examples'][-1]}")
    r = cli("gradcheck", CONFIGS / "spiral.yaml")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1].startswith("PASSED: 6 parameter arrays in 1 network")


def test_unchecked_arrays_exit_1_with_advice_that_works(cli) -> None:
    # With eps 0.1 no spiral example is clear of the kinks (a step moves Z by up to ~0.1 |x|),
    # not even with jittered biases: the first 8 examples are used, the origin among them.
    r = cli("gradcheck", CONFIGS / "spiral.yaml", "--eps", "0.1")
    assert r.exit_code == 1
    assert "note: no training example is clear of the ReLU kinks at eps 0.1" in r.stderr
    table = {line.split()[0]: line.split() for line in r.stdout.splitlines()[2:8]}
    assert table["b1"][-1] == table["b2"][-1] == "unchecked" and table["b1"][2:4] == ["0", "of"]
    verdict = r.stdout.splitlines()[-1]
    assert (
        "; UNCHECKED: b1, b2 of spiral: relu -> relu -> softmax/categorical_cross_entropy, "
        "8 examples: every step crosses a ReLU kink, nothing compared (2 of 6 parameter arrays "
        "in 1 network); try a smaller --eps (e.g. 0.01)"
    ) in verdict
    code, rep, _ = run_json(cli, str(CONFIGS / "spiral.yaml"), "--eps", "0.1")
    assert code == 1 and rep["unchecked"] == 2 and rep["examples"] == list(range(8))
    assert by_param(rep)["b1"]["status"] == "unchecked" and by_param(rep)["b1"]["passed"] is False
    # the advice: eps 0.01 finds clear examples, nothing is unchecked (truncation error at such a
    # big step still fails the tolerance, which is what the default eps is for)
    code, rep, _ = run_json(cli, str(CONFIGS / "spiral.yaml"), "--eps", "0.01")
    assert rep["unchecked"] == 0 and 0 not in rep["examples"]


def test_only_unchecked_arrays_give_an_unchecked_verdict(cli, tmp_path, monkeypatch) -> None:
    # The examples chosen as before this check existed (the first 8): b1 and b2 are unchecked,
    # everything else passes, and the verdict says UNCHECKED only.
    monkeypatch.setattr(
        gradcheck.kinks,
        "clear_examples",
        lambda params, X, arch, eps, n: np.arange(min(n, X.shape[1])),
    )
    r = cli("gradcheck", CONFIGS / "spiral.yaml")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[-1].startswith(
        "UNCHECKED: b1, b2 of spiral: relu -> relu -> softmax/categorical_cross_entropy, "
        "8 examples: every step crosses a ReLU kink, nothing compared (2 of 6 parameter arrays "
        "in 1 network); try "
    )
    assert "all " in r.stdout and r.stdout.splitlines()[-3].split()[-1] == "unchecked"


def test_a_network_without_hidden_layers(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "logreg.yaml",
        MOONS_SMALL.replace("[auto, 8, 1]", "[auto, 1]").replace("[relu, sigmoid]", "[sigmoid]"),
    )
    code, rep, err = run_json(cli, str(cfg))
    assert code == 0 and err == ""
    assert [(c["parameter"], c["coordinates"], c["status"]) for c in rep["checks"]] == [
        ("W1", 2, "passed"),
        ("b1", 1, "passed"),
    ]
    assert rep["examples"] == list(range(8)) and rep["unchecked"] == 0


def test_zero_initialized_hidden_layers_are_checked_at_jittered_biases(cli, tmp_path) -> None:
    # init: zeros puts every hidden Z at exactly 0 on every example: no example is clear, so the
    # hidden biases are moved (by about 1e-3, seeded) and reported; every array is then compared.
    cfg = write_config(tmp_path / "zeros.yaml", MOONS_SMALL.replace("init: he", "init: zeros"))
    code, rep, err = run_json(cli, str(cfg))
    assert code == 0, err
    assert (
        "note: no training example is clear of the ReLU kinks at these parameters: the hidden "
        "biases were moved by at most "
        in err
        and "(a jitter drawn from --seed 0)" in err
    )
    assert rep["perturbed"] is True and 5e-4 < rep["bias_jitter"] < 2e-3
    assert rep["examples"] == list(range(8)) and rep["unchecked"] == 0
    assert all(c["status"] == "passed" and c["coordinates"] > 0 for c in rep["checks"])
    _, again, _ = run_json(cli, str(cfg))
    _, other, _ = run_json(cli, str(cfg), "--seed", "1")
    assert again["bias_jitter"] == rep["bias_jitter"] != other["bias_jitter"]
