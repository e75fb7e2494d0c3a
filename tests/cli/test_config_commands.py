"""`--set` overrides of every kind, `nnctl config show` and `nnctl config check`, run as real
subprocesses (plus in-process checks where only the library is under test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import write_config
from helpers.proc import TINY, nnctl


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_config(tmp_path / "tiny.yaml", TINY)


def show(tmp_path: Path, cfg: Path, *args: str):
    return nnctl("config", "show", cfg, *args, runs_dir=tmp_path / "runs", cwd=tmp_path)


def test_set_top_level_nested_and_lists(tmp_path: Path, tiny: Path) -> None:
    r = show(
        tmp_path,
        tiny,
        "--set",
        "learning_rate=0.05",
        "--set",
        "dataset.test_fraction=0.3",
        "--set",
        "layer_dims=[auto, 5, 3, 1]",
        "--set",
        "activations=[tanh, relu, sigmoid]",
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    cfg = yaml.safe_load(r.stdout)
    assert cfg["learning_rate"] == 0.05
    # The nested override changes one key and keeps its siblings from the file.
    assert cfg["dataset"]["test_fraction"] == 0.3
    assert cfg["dataset"]["synthetic"] == "moons" and cfg["dataset"]["m"] == 200
    # auto is bound to the moons data's 2 features, as train does.
    assert cfg["layer_dims"] == [2, 5, 3, 1]
    assert cfg["activations"] == ["tanh", "relu", "sigmoid"]
    assert cfg["iterations"] == 200  # untouched keys come from the file


def test_nested_override_expands_a_dataset_shorthand(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "short.yaml",
        TINY.replace(
            "dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}", "dataset: planar"
        ),
    )
    r = show(tmp_path, cfg, "--set", "dataset.m=120", "--no-data")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout)["dataset"] == {
        "synthetic": "planar",
        "m": 120,
        "test_fraction": 0.2,
        "seed": 1,
        "noise": 0.2,
    }


def test_show_without_data_keeps_auto(tmp_path: Path, tiny: Path) -> None:
    r = show(tmp_path, tiny, "--no-data")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout)["layer_dims"] == ["auto", 8, 1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learing_rate=0.1", "unknown key 'learing_rate' (did you mean learning_rate?)"),
        (
            "dataset.test_fracton=0.3",
            "unknown key 'dataset.test_fracton' (did you mean test_fraction?)",
        ),
        ("datset.m=3", "unknown key 'datset' (did you mean dataset?)"),
        ("iterations=ten", "iterations: expected a number, got the string 'ten'"),
        ("dataset.test_fraction=1.5", "dataset.test_fraction: must be in [0.0, 1.0), got 1.5"),
        ("layer_dims=[auto, 0, 1]", "layer_dims: entry 1: must be a positive whole number, got 0"),
        ("learning_rate", "expected KEY=VALUE"),
        ("learning_rate.x=1", "learning_rate is not a mapping"),
    ],
)
def test_bad_overrides_get_one_line_and_exit_2(
    tmp_path: Path, tiny: Path, override: str, message: str
) -> None:
    r = nnctl("train", tiny, "--set", override, runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_show_prints_exactly_what_train_saves(tmp_path: Path, tiny: Path) -> None:
    sets = ["--set", "dataset.seed=7", "--set", "learning_rate=0.2"]
    shown = show(tmp_path, tiny, *sets)
    trained = nnctl("train", tiny, *sets, "--quiet", runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert shown.returncode == 0 and trained.returncode == 0, shown.stderr + trained.stderr
    run_id = trained.stdout.strip()
    assert (tmp_path / "runs" / run_id / "config.yaml").read_text() == shown.stdout


def test_check_reports_each_file_and_exits_2_if_any_is_bad(tmp_path: Path, tiny: Path) -> None:
    bad = write_config(tmp_path / "bad.yaml", TINY.replace("init: he", "init: hee"))
    nodata = write_config(
        tmp_path / "nodata.yaml",
        TINY.replace(
            "dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}",
            "dataset: {train: missing.h5}",
        ),
    )
    r = nnctl("config", "check", tiny, bad, nodata, runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout.splitlines() == [f"ok {tiny}"]
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2
    assert str(bad) in errors[0] and "init: got the string 'hee' (did you mean he?)" in errors[0]
    assert "missing.h5" in errors[1]

    ok = nnctl(
        "config", "check", tiny, nodata, "--no-data", runs_dir=tmp_path / "runs", cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [f"ok {tiny}", f"ok {nodata}"]
