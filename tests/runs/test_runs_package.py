"""nnctl.runs owns the run directory: its file names, the typed summary (one writer, one
reader) and what it records to reproduce and compare a run."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, ROOT
from nnctl.config import load_config
from nnctl.runs import RunSummary, flatten, load_run, read_summary
from nnctl.system import RunError

RUN_FILES = ("summary.json", "config.yaml", "params.npz", "history.csv", "checkpoint.npz")
NEW_KEYS = ("task", "blas", "cpu", "config")


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def _write(run_dir: Path, s: dict) -> None:
    (run_dir / "summary.json").write_text(json.dumps(s, indent=2))


@pytest.fixture
def sine_run(cli, runs_dir: Path) -> Path:
    r = cli("train", CONFIGS / "sine.yaml", "--set", "epochs=5", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_summary_round_trips(moons_run: Path) -> None:
    written = _summary(moons_run)
    s = read_summary(moons_run)
    assert s.to_json() == written and list(s.to_json()) == list(written)  # same keys, same order
    assert RunSummary.from_json(s.to_json(), "x") == s
    assert s.status == "complete" and s.task == "classification"
    assert s.metric("test_accuracy") == written["test_accuracy"] and s.metric("test_mse") is None
    with pytest.raises(ValueError, match="not a score key"):
        s.metric("test_acuracy")


def test_summary_records_the_machine_and_the_flattened_config(moons_run: Path) -> None:
    s = _summary(moons_run)
    assert s["task"] == "classification"
    assert s["blas"], "numpy's BLAS is listed"
    for lib in s["blas"]:
        assert set(lib) == {"internal_api", "version", "num_threads", "architecture"}
        assert isinstance(lib["num_threads"], int) and lib["num_threads"] >= 1
    assert isinstance(s["cpu"], str) and s["cpu"]
    assert s["config"] == flatten(load_config(moons_run / "config.yaml").to_dict())
    assert s["config"]["dataset.synthetic"] == "moons" and s["config"]["layer_dims"] == [2, 8, 1]


def test_threads_option_is_recorded(cli, runs_dir: Path, tmp_path: Path) -> None:
    from helpers import MOONS_SMALL, write_config

    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--quiet", "--json", "--threads", "1")
    assert r.exit_code == 0, r.stderr
    assert all(
        lib["num_threads"] == 1 for lib in _summary(Path(json.loads(r.stdout)["run_dir"]))["blas"]
    )


def test_regression_task_is_recorded(sine_run: Path) -> None:
    s = read_summary(sine_run)
    assert s.task == "regression" and s.metric("test_mse") is not None
    assert load_run(sine_run).task == "regression"


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("final_cost", "0.3", "final_cost is a string, expected a number"),
        ("iterations_done", 1.5, "iterations_done is a number, expected an integer"),
        ("status", 3, "status is an integer, expected a string"),
        ("test_accuracy", [1], "test_accuracy is a list, expected a number"),
        ("task", "ranking", "task is 'ranking', expected classification or regression"),
        ("dataset", {"sources": 7}, "dataset.sources is an integer, expected a list of objects"),
    ],
)
def test_damaged_summary_field_is_one_error_naming_file_and_key(
    cli, moons_run: Path, key: str, value, expected: str
) -> None:
    s = _summary(moons_run)
    s[key] = value
    _write(moons_run, s)
    with pytest.raises(RunError) as exc:
        read_summary(moons_run)
    assert str(exc.value) == f"{moons_run / 'summary.json'}: damaged: {expected}"
    r = cli("predict", str(moons_run), "x.csv")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == f"error: {moons_run / 'summary.json'}: damaged: {expected}"
    r = cli("runs", "list", "--json")  # the listing goes on without it, with a warning
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert f"damaged: {expected}" in r.stderr


def test_summary_from_the_previous_version_is_still_read(
    cli, moons_run: Path, sine_run: Path, tmp_path: Path
) -> None:
    for run in (moons_run, sine_run):
        s = _summary(run)
        _write(run, {k: v for k, v in s.items() if k not in NEW_KEYS})
    assert read_summary(moons_run).task == "classification"
    assert read_summary(sine_run).task == "regression"  # derived from its regression scores
    assert read_summary(moons_run).config is None and read_summary(moons_run).blas is None
    rows = {row["id"]: row for row in json.loads(cli("runs", "list", "--json").stdout)}
    assert rows[moons_run.name]["learning_rate"] == 0.5  # read from config.yaml instead
    np.savetxt(tmp_path / "x.csv", [[0.5, 0.2]], delimiter=",")
    assert cli("predict", str(moons_run), "x.csv").exit_code == 0
    r = cli("runs", "compare", moons_run.name, sine_run.name, "--json")
    assert r.exit_code == 0 and "test_mse" in json.loads(r.stdout)["metrics"]
    # a running summary of the previous version (no scores yet) takes the task of its loss
    s = _summary(sine_run)
    _write(sine_run, {k: v for k, v in s.items() if not k.startswith(("train_", "val_", "test_"))})
    assert read_summary(sine_run).task == "regression"


def test_runs_list_uses_the_recorded_config_without_config_yaml(cli, moons_run: Path) -> None:
    (moons_run / "config.yaml").unlink()
    r = cli(
        "runs", "list", "--json", "--filter", "dataset.synthetic=moons", "--sort", "learning_rate"
    )
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["id"] == moons_run.name and row["learning_rate"] == 0.5 and row["iterations"] == 300


def test_run_files_are_named_only_in_the_runs_package() -> None:
    """String literals (docstrings aside) outside nnctl/runs never spell a run file's name."""
    found = []
    for path in sorted((ROOT / "nnctl").rglob("*.py")):
        if (ROOT / "nnctl" / "runs") in path.parents:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                    for name in RUN_FILES
                    if name in node.value
                ]
    assert found == []
