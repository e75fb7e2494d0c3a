"""``nnctl diagnose``: the tables and next steps it prints, --json, the baseline from the
config's diagnose.baseline, and bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import MOONS_SMALL, write_config
from helpers.diagnoseruns import TOO_SMALL


def _train(cli, tmp_path: Path, text: str, *extra: str) -> Path:
    r = cli("train", write_config(tmp_path / "c.yaml", text), "-q", "--json", *extra)
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_diagnose_prints_the_recipe_and_paste_able_next_steps(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    run = _train(cli, tmp_path, TOO_SMALL)
    r = cli("diagnose", "latest", "--baseline", "0.05")
    assert r.exit_code == 0, r.stderr
    summary = json.loads((run / "summary.json").read_text())
    train_error = 1 - summary["train_accuracy"]
    assert f"{train_error:.4f}" in r.stdout and "0.0500" in r.stdout
    assert f"{train_error - 0.05:+.4f}" in r.stdout
    assert "high: the training set is fit worse than the baseline" in r.stdout
    assert "work on avoidable bias first" in r.stdout
    assert f"nnctl train {run / 'config.yaml'} --set 'layer_dims=[2, 16, 3]'" in r.stdout
    assert "human-level" not in r.stderr  # the baseline was given


def test_a_pasted_next_step_trains(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, TOO_SMALL)
    d = json.loads(cli("diagnose", "latest", "--json").stdout)
    bias = next(g for g in d["gaps"] if g["name"] == "avoidable bias")
    step = bias["steps"][0]
    args = [a for o in step["overrides"] for a in ("--set", o)]
    run = _train(cli, tmp_path, TOO_SMALL, *args)
    assert json.loads((run / "summary.json").read_text())["layer_dims"] == [2, 16, 3]


def test_json_holds_the_errors_gaps_and_notes(cli, runs_dir: Path, tmp_path: Path) -> None:
    run = _train(cli, tmp_path, MOONS_SMALL)
    r = cli("diagnose", str(run), "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    s = json.loads((run / "summary.json").read_text())
    assert d["run_id"] == s["run_id"] and d["task"] == "classification"
    assert d["errors"] == {
        "baseline": 0.0,
        "train": 1 - s["train_accuracy"],
        "val": None,
        "test": 1 - s["test_accuracy"],
    }
    assert d["baseline_source"] == "default"
    assert [g["name"] for g in d["gaps"]] == ["avoidable bias", "variance", "dev/test mismatch"]
    assert d["gaps"][1]["between"] == ["train", "test"]
    assert any("no validation split" in n for n in d["notes"])
    assert r.stderr == ""


def test_the_configs_diagnose_baseline_is_the_default(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, MOONS_SMALL + "diagnose: {baseline: 0.03}\n")
    d = json.loads(cli("diagnose", "latest", "--json").stdout)
    assert (d["errors"]["baseline"], d["baseline_source"]) == (0.03, "diagnose.baseline")
    d = json.loads(cli("diagnose", "latest", "--json", "--baseline", "0.1").stdout)
    assert (d["errors"]["baseline"], d["baseline_source"]) == (0.1, "--baseline")


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        ("1.5", "error: --baseline must be in [0, 1] for a classifier"),
        ("-0.1", "error: --baseline must be a finite number >= 0, got -0.1"),
        ("nan", "error: --baseline must be a finite number >= 0, got nan"),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2(
    cli, runs_dir: Path, tmp_path: Path, baseline: str, message: str
) -> None:
    _train(cli, tmp_path, MOONS_SMALL)
    r = cli("diagnose", "latest", "--baseline", baseline)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "diagnose: {baseline: 1.5}\n",
            "diagnose.baseline: must be in [0, 1] for a classifier (an error rate: 1 - accuracy)"
            ", got 1.5",
        ),
        ("diagnose: {baseline: -1}\n", "diagnose: baseline: must be >= 0, got -1"),
        (
            "diagnose: {base: 0.1}\n",
            "diagnose: unknown key 'base' (did you mean baseline?); valid keys: baseline",
        ),
        ("diagnose: 0.1\n", "diagnose: expected a mapping like {baseline: 0.05}, got 0.1"),
    ],
)
def test_a_bad_diagnose_key_stops_train_before_anything_is_written(
    cli, runs_dir: Path, tmp_path: Path, extra: str, message: str
) -> None:
    r = cli("train", write_config(tmp_path / "c.yaml", MOONS_SMALL + extra), "-q")
    assert r.exit_code == 2
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_regression_baseline_is_an_mse(cli, runs_dir: Path, tmp_path: Path) -> None:
    from helpers import CONFIGS

    r = cli("train", CONFIGS / "sine.yaml", "--set", "epochs=5", "--set", "diagnose.baseline=2.5")
    assert r.exit_code == 0, r.stderr
    d = json.loads(cli("diagnose", "latest", "--json").stdout)
    assert d["metric"] == "MSE" and d["errors"]["baseline"] == 2.5


def test_a_run_that_is_not_there_is_one_line(cli, runs_dir: Path) -> None:
    r = cli("diagnose", "nosuchrun")
    assert r.exit_code == 2 and r.stderr.startswith("error:") and r.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"train_accuracy": None}, "the run recorded no training score"),
        ({"train_accuracy": 1.7}, "damaged: train_accuracy is 1.7, expected a number in [0, 1]"),
        ({"test_accuracy": float("nan")}, "damaged: test_accuracy is nan"),
        ({"val_accuracy": -0.5}, "damaged: val_accuracy is -0.5"),
    ],
)
def test_a_damaged_summary_is_one_line(
    cli, runs_dir: Path, tmp_path: Path, edit: dict, message: str
) -> None:
    run = _train(cli, tmp_path, MOONS_SMALL)
    summary = json.loads((run / "summary.json").read_text())
    summary.update(edit)
    summary = {k: v for k, v in summary.items() if v is not None}
    (run / "summary.json").write_text(json.dumps(summary))
    r = cli("diagnose", "latest")
    assert r.exit_code == 2 and r.stdout == ""
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr
