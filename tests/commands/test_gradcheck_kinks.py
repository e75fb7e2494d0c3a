"""nnctl gradcheck at ReLU kinks: steps that cross one are skipped, examples clear of them are
chosen (or the biases jittered), and an array with nothing compared is unchecked, not passed."""

from __future__ import annotations

import numpy as np

from helpers import CONFIGS, MOONS_SMALL, write_config
from helpers.gradients import by_param, run_json
from nnctl.commands import gradcheck
from nnctl.core import network as model

TOL = 1e-7


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
