"""``nnctl.commands.diagnose``: the recipe's numbers and verdicts on generated data built to
show each case (a too-small network, a large network on few examples, a shifted test set), the
no-validation reading, regression errors, and next steps that are valid overrides."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from helpers import MOONS_SMALL, write_config
from helpers.diagnoseruns import SHIFTED, TOO_BIG, TOO_SMALL
from helpers.reportruns import train
from nnctl.commands.diagnose import TOLERANCE, diagnose_run, split_errors
from nnctl.config import load_config
from nnctl.runs import load_run
from nnctl.system import OptionError

SPREAD = 0.6  # the blobs' standard deviation


def _blobs(rng: np.random.Generator, m: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    """Two gaussian classes at x = -1 and x = +1; ``shift`` moves every example along x."""
    y = rng.integers(0, 2, size=m)
    x = rng.normal(0.0, SPREAD, size=(m, 2))
    x[:, 0] += 2.0 * y - 1.0 + shift
    return {"x": x, "y": y}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The cases, trained once: too small, too big, shifted test set, no validation split."""
    from typer.testing import CliRunner

    from nnctl.cli import app

    d = tmp_path_factory.mktemp("diagnose")
    rng = np.random.default_rng(0)
    for name, m, shift in (("train", 400, 0.0), ("val", 200, 0.0), ("test", 200, 1.5)):
        np.savez(d / f"{name}.npz", **_blobs(rng, m, shift))
    out = {}
    for name, text in (
        ("small", TOO_SMALL),
        ("big", TOO_BIG),
        ("shifted", SHIFTED),
        ("noval", MOONS_SMALL),
    ):
        cfg = write_config(d / f"{name}.yaml", text)
        r = CliRunner().invoke(
            app, ["train", str(cfg), "-q", "--runs-dir", str(d / "runs")], catch_exceptions=False
        )
        assert r.exit_code == 0, r.stderr
        out[name] = d / "runs" / r.stdout.strip()
    out["sine"] = train("sine", d / "runs")
    return out


def _gaps(run_dir: Path, baseline: float | None = None) -> dict:
    return {g.name: g for g in diagnose_run(load_run(run_dir), baseline).gaps}


def test_errors_are_one_minus_the_summarys_accuracy(runs: dict[str, Path]) -> None:
    run = load_run(runs["small"])
    e = split_errors(run)
    s = run.summary
    assert e.train == 1 - s.metric("train_accuracy")
    assert e.val == 1 - s.metric("val_accuracy")
    assert e.test == 1 - s.metric("test_accuracy")
    assert (e.n_train, e.n_val, e.n_test) == (384, 96, 120)
    gaps = _gaps(runs["small"], 0.01)
    assert gaps["avoidable bias"].value == e.train - 0.01
    assert gaps["variance"].value == e.val - e.train
    assert gaps["dev/test mismatch"].value == e.test - e.val


def test_a_too_small_network_has_high_avoidable_bias(runs: dict[str, Path]) -> None:
    d = diagnose_run(load_run(runs["small"]))
    gaps = {g.name: g for g in d.gaps}
    assert d.focus == "avoidable bias"
    assert gaps["avoidable bias"].high and gaps["avoidable bias"].value > 0.3
    assert not gaps["variance"].high
    overrides = [o for s in gaps["avoidable bias"].steps for o in s.overrides]
    # a linear model gets a hidden layer; gradient descent gets Adam; training gets longer
    assert "layer_dims=[2, 16, 3]" in overrides and "activations=[relu, softmax]" in overrides
    assert "iterations=600" in overrides and "optimizer=adam" in overrides
    assert d.baseline == 0.0 and d.baseline_source == "default"
    assert any("human-level" in n for n in d.notes)


def test_a_large_network_on_few_examples_has_high_variance(runs: dict[str, Path]) -> None:
    d = diagnose_run(load_run(runs["big"]))
    gaps = {g.name: g for g in d.gaps}
    assert d.focus == "variance"
    assert gaps["variance"].high and not gaps["avoidable bias"].high
    overrides = [o for s in gaps["variance"].steps for o in s.overrides]
    assert "dataset.m=160" in overrides and "l2=0.1" in overrides
    assert "dropout=0.8" in overrides and "early_stopping={patience: 10}" in overrides
    # 18 validation examples: the threshold grows to two standard errors of the gap
    e = d.errors
    se = np.sqrt(e.train * (1 - e.train) / e.n_train + e.val * (1 - e.val) / e.n_val)
    assert gaps["variance"].threshold == pytest.approx(max(TOLERANCE, 2 * se))
    assert gaps["variance"].threshold > TOLERANCE


def test_a_shifted_test_set_is_a_dev_test_mismatch(runs: dict[str, Path]) -> None:
    # the blobs overlap: the best any classifier can do (the Bayes error) is the baseline
    bayes = 0.5 * math.erfc(1 / SPREAD / math.sqrt(2))
    d = diagnose_run(load_run(runs["shifted"]), bayes)
    gaps = {g.name: g for g in d.gaps}
    assert d.focus == "dev/test mismatch"
    assert gaps["dev/test mismatch"].high and gaps["dev/test mismatch"].value > 0.2
    assert not gaps["variance"].high and not gaps["avoidable bias"].high
    assert "above dev error" in gaps["dev/test mismatch"].verdict
    assert gaps["dev/test mismatch"].steps


def test_without_a_validation_split_variance_is_read_from_test(runs: dict[str, Path]) -> None:
    d = diagnose_run(load_run(runs["noval"]))
    gaps = {g.name: g for g in d.gaps}
    e = d.errors
    assert e.val is None and e.test is not None
    assert (gaps["variance"].lower, gaps["variance"].upper) == ("train", "test")
    assert gaps["variance"].value == e.test - e.train
    assert gaps["dev/test mismatch"].value is None and not gaps["dev/test mismatch"].high
    assert "cannot be told apart from variance" in gaps["dev/test mismatch"].verdict
    assert any("no validation split" in n for n in d.notes)


def test_regression_errors_are_the_mse(runs: dict[str, Path]) -> None:
    run = load_run(runs["sine"])
    d = diagnose_run(run, 0.01)
    s = run.summary
    assert d.errors.metric == "MSE"
    assert d.errors.train == s.metric("train_mse") and d.errors.test == s.metric("test_mse")
    bias = d.gaps[0]
    variance_of_y = s.metric("train_mse") / (1 - s.metric("train_r2"))
    assert bias.value == s.metric("train_mse") - 0.01
    assert bias.threshold == pytest.approx(TOLERANCE * variance_of_y)
    # an MSE baseline is no error rate: above 1 is allowed
    assert diagnose_run(run, 5.0).baseline == 5.0


def test_every_next_step_is_a_valid_override_of_the_runs_config(runs: dict[str, Path]) -> None:
    for name in ("small", "big", "shifted", "noval"):
        d = diagnose_run(load_run(runs[name]), 0.0)
        for g in d.gaps:
            for step in g.steps:
                if step.overrides:
                    load_config(d.config_file, step.overrides)
                    assert step.command(d.config_file).startswith(f"nnctl train {d.config_file}")


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        (1.5, "must be in [0, 1] for a classifier"),
        (-0.1, "must be a finite number >= 0"),
        (float("nan"), "must be a finite number >= 0"),
        (float("inf"), "must be a finite number >= 0"),
    ],
)
def test_a_baseline_no_error_can_be_is_refused(
    runs: dict[str, Path], baseline: float, message: str
) -> None:
    with pytest.raises(OptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        diagnose_run(load_run(runs["small"]), baseline)


def test_the_report_shows_the_same_diagnosis(runs: dict[str, Path], tmp_path: Path) -> None:
    from nnctl.commands import write_report

    run = load_run(runs["big"])
    d = diagnose_run(run)
    write_report([run], tmp_path / "r.html", 0)
    page = (tmp_path / "r.html").read_text()
    section = page[page.index("<h3>Diagnosis</h3>") : page.index("<h3>Config</h3>")]
    for g in d.gaps:
        assert f"{g.value:+.4f}" in section
    assert (
        "<b>high: val error is well above" in section and "work on <b>variance</b> first" in section
    )
    assert "<code>--set l2=0.1</code>" in section and "human-level" in section


def test_next_steps_of_a_batch_normalized_run_are_valid_overrides(tmp_path: Path) -> None:
    """The deeper network's step gives batch_norm.layers one more flag, as it does dropout."""
    from typer.testing import CliRunner

    from nnctl.cli import app

    cfg = write_config(tmp_path / "bn.yaml", MOONS_SMALL + "batch_norm: true\n")
    r = CliRunner().invoke(
        app, ["train", str(cfg), "-q", "--runs-dir", str(tmp_path / "runs")], catch_exceptions=False
    )
    assert r.exit_code == 0, r.stderr
    from nnctl.commands.diagnose.steps import bias_steps, variance_steps

    run = load_run(tmp_path / "runs" / r.stdout.strip())
    config_file = run.run_dir / "config.yaml"
    steps = bias_steps(run.config, run.summary) + variance_steps(run.config, False)
    deeper = [s for s in steps if "deeper" in s.text]
    assert deeper and "batch_norm.layers=[true, true]" in deeper[0].overrides
    for step in steps:
        if step.overrides:
            assert load_config(config_file, step.overrides).batch_norm is not None
