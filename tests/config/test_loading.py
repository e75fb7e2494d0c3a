"""Config loading and every config mistake: one line naming the key, exit status 2, no run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, write_config
from nnctl.config import dump_config, load_config
from nnctl.system import ConfigError

GOOD = """\
dataset: {synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 4, 1]
activations: [relu, sigmoid]
learning_rate: 0.1
iterations: 5
"""


def _cfg(tmp_path: Path, text: str) -> Path:
    return write_config(tmp_path / "c.yaml", text)


def test_defaults_and_name_from_file_stem(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path, GOOD))
    assert cfg.name == "c"
    assert (cfg.seed, cfg.init, cfg.print_every, cfg.dtype) == (1, "scaled", 100, "float64")
    assert cfg.loss == "binary_cross_entropy"
    assert cfg.dataset == {
        "synthetic": "moons",
        "m": 60,
        "test_fraction": 0.25,
        "seed": 1,
        "noise": 0.2,
    }


def test_exponent_floats_are_numbers(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path, GOOD.replace("0.1", "1e-3")))
    assert cfg.learning_rate == 0.001 and isinstance(cfg.learning_rate, float)
    assert load_config(_cfg(tmp_path, GOOD.replace("0.1", "5E-2"))).learning_rate == 0.05


def test_activation_mapping_expands_per_layer(tmp_path: Path) -> None:
    text = GOOD.replace("[auto, 4, 1]", "[auto, 4, 3, 1]").replace(
        "[relu, sigmoid]", "{hidden: tanh, output: sigmoid}"
    )
    assert load_config(_cfg(tmp_path, text)).activations == ["tanh", "tanh", "sigmoid"]


def test_dataset_shorthands(tmp_path: Path) -> None:
    text = GOOD.replace("{synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}", "planar")
    assert load_config(_cfg(tmp_path, text)).dataset["synthetic"] == "planar"
    text = GOOD.replace("{synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}", "my.h5")
    assert load_config(_cfg(tmp_path, text)).dataset == {
        "train": "my.h5",
        "test": None,
        "val": None,
    }


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / "cat_deep.yaml", ["learning_rate=1e-2", "dataset.test=x.h5"])
    again = load_config(write_config(tmp_path / "r.yaml", dump_config(cfg)))
    assert again.to_dict() == cfg.to_dict() and again.name == "cat_deep"
    assert again.learning_rate == 0.01 and again.dataset["test"] == "x.h5"


def test_overrides_nested_and_lists(tmp_path: Path) -> None:
    cfg = load_config(
        _cfg(tmp_path, GOOD),
        ["dataset.test_fraction=0.5", "layer_dims=[auto, 6, 1]", "iterations=7"],
    )
    assert cfg.dataset["test_fraction"] == 0.5 and cfg.layer_dims == ["auto", 6, 1]
    assert cfg.iterations == 7


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "learning_rate: 0.1",
            "learning_rat: 0.1",
            "unknown key 'learning_rat' (did you mean learning_rate?)",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: yes",
            "learning_rate: expected a number, got the boolean true",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: -0.1",
            "learning_rate: must be a positive number, got -0.1",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: 0",
            "learning_rate: must be a positive number, got 0",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: 2024-01-05",
            "learning_rate: expected a number, got the date 2024-01-05",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: fast",
            "learning_rate: expected a number, got the string 'fast'",
        ),
        ("iterations: 5", "iterations: 0", "iterations: must be a positive whole number, got 0"),
        ("iterations: 5", "iterations: 2.5", "iterations: expected a whole number, got 2.5"),
        ("iterations: 5", "iterations: on", "iterations: expected a number, got the boolean true"),
        (
            "iterations: 5",
            "",
            "give exactly one of iterations (gradient steps) or epochs "
            "(passes over the training set); neither is set",
        ),
        (
            "[relu, sigmoid]",
            "[relu]",
            "activations has 1 entries but layer_dims ['auto', 4, 1] describes 2 layer(s)",
        ),
        (
            "[relu, sigmoid]",
            "[rleu, sigmoid]",
            "activations: entry 0: got the string 'rleu' (did you mean relu?); "
            "valid: relu, leaky_relu, tanh, sigmoid, linear",
        ),
        (
            "[relu, sigmoid]",
            "[relu, relu]",
            "output activation 'relu' has no loss; valid output activations: sigmoid",
        ),
        (
            "[auto, 4, 1]",
            "[auto, 4, 2]",
            "a sigmoid output (binary classification) has 1 unit, got 2",
        ),
        (
            "[auto, 4, 1]",
            "[4, auto, 1]",
            "layer_dims: entry 1: expected a number, got the string 'auto' "
            "('auto' is allowed only as the first entry)",
        ),
        (
            "[auto, 4, 1]",
            "[auto, 0, 1]",
            "layer_dims: entry 1: must be a positive whole number, got 0",
        ),
        ("[auto, 4, 1]", "12", "layer_dims: expected a list of layer sizes"),
        ("seed: 1}", "seed: 1, m: 10}", "duplicate key 'm'"),
        (
            "synthetic: moons",
            "synthetic: moon",
            "dataset.synthetic: got the string 'moon' (did you mean moons?); "
            "valid: planar, moons, circles",
        ),
        (
            "test_fraction: 0.25",
            "test_fraction: 1.5",
            "dataset.test_fraction: must be in [0.0, 1.0), got 1.5",
        ),
        ("seed: 1}", "sed: 1}", "unknown key 'dataset.sed' (did you mean seed?)"),
        (
            "learning_rate: 0.1",
            "learning_rate: !!python/object/apply:os.system [echo hi]",
            "python tags are not allowed",
        ),
        (
            "iterations: 5",
            "iterations: 5\ninit: random",
            "init: got the string 'random'; valid: scaled, small, he, xavier",
        ),
        (
            "iterations: 5",
            "iterations: 5\ndtype: float16",
            "dtype: got the string 'float16' (did you mean float64?); valid: float64, float32",
        ),
        (
            "iterations: 5",
            "iterations: 5\nlearning_rate: 0.2",
            "duplicate key 'learning_rate' (line 6)",
        ),
        (
            "layer_dims: [auto, 4, 1]",
            "layer_dims: [auto, 4, 1",
            "line 3, column 12: expected ',' or ']', but got ':'",
        ),
    ],
)
def test_config_errors_are_one_line_with_exit_2_and_no_run(
    cli, runs_dir: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    path = _cfg(tmp_path, GOOD.replace(old, new))
    r = cli("train", path)
    assert r.exit_code == 2
    assert message in r.stderr
    assert r.stderr.startswith(f"error: {path}")
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_top_level_must_be_a_mapping(cli, tmp_path: Path) -> None:
    r = cli("train", _cfg(tmp_path, "- 1\n- 2\n"))
    assert (
        r.exit_code == 2
        and "expected a mapping of config keys at the top level, got a list" in r.stderr
    )


def test_missing_config_file(cli, tmp_path: Path) -> None:
    r = cli("train", tmp_path / "nope.yaml")
    assert (
        r.exit_code == 2
        and r.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: no such config file"
    )


@pytest.mark.parametrize(
    "override,message",
    [
        ("learning_rate", "--set 'learning_rate': expected KEY=VALUE"),
        ("learnig_rate=0.1", "unknown key 'learnig_rate' (did you mean learning_rate?)"),
        ("datset.m=5", "unknown key 'datset' (did you mean dataset?)"),
        ("dataset.mm=5", "unknown key 'dataset.mm' (did you mean m?)"),
        ("iterations=many", "(with --set): iterations: expected a number, got the string 'many'"),
        ("layer_dims=[auto, 4, 1", "--set layer_dims=[auto, 4, 1: line 1"),
        ("learning_rate.x=1", "learning_rate is not a mapping"),
    ],
)
def test_override_errors(cli, runs_dir: Path, tmp_path: Path, override: str, message: str) -> None:
    r = cli("train", _cfg(tmp_path, GOOD), "--set", override)
    assert r.exit_code == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_layer_dims_must_match_the_data(cli, runs_dir: Path, tmp_path: Path) -> None:
    r = cli("train", _cfg(tmp_path, GOOD.replace("[auto, 4, 1]", "[3, 4, 1]")))
    assert r.exit_code == 2
    assert (
        "layer_dims[0] is 3 but the dataset has 2 features per example; use 2 or auto" in r.stderr
    )
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_missing_data_file(cli, runs_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NNCTL_DATA_DIR", raising=False)
    text = GOOD.replace(
        "{synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}", "{train: nothere.h5}"
    )
    r = cli("train", _cfg(tmp_path, text))
    assert r.exit_code == 2
    cfg = tmp_path / "c.yaml"
    assert r.stderr == (
        f"error: nothere.h5: data file not found (searched {tmp_path / 'nothere.h5'}, named in "
        f"{cfg}); set NNCTL_DATA_DIR to the folder that holds it, or copy it into data/\n"
    )
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_data_paths_are_looked_up_beside_the_config_then_in_the_data_dir(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """cwd, then the config file's folder, then $NNCTL_DATA_DIR; the error lists each place."""
    import h5py

    (tmp_path / "proj" / "configs").mkdir(parents=True)
    (tmp_path / "proj" / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "proj" / "data" / "d.h5", "w") as f:
        f["train_set_x"] = rng.standard_normal((20, 3))
        f["train_set_y"] = rng.integers(0, 2, 20)
    text = GOOD.replace(
        "{synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}", "{train: ../data/d.h5}"
    )
    cfg = _cfg(tmp_path / "proj" / "configs", text)
    monkeypatch.delenv("NNCTL_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "elsewhere")
    r = cli("train", cfg, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    summary = json.loads((Path(json.loads(r.stdout)["run_dir"]) / "summary.json").read_text())
    assert summary["dataset"]["sources"][0]["path"] == str(
        (tmp_path / "proj" / "data" / "d.h5").resolve()
    )
    # moved away from the config: found by name under $NNCTL_DATA_DIR
    moved = tmp_path / "elsewhere" / "c.yaml"
    moved.write_text(text)
    monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "proj" / "data"))
    assert cli("train", moved, "--quiet").exit_code == 0
    monkeypatch.setenv("NNCTL_DATA_DIR", str(tmp_path / "nowhere"))
    r = cli("train", moved, "--quiet")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    places = [
        tmp_path / "data" / "d.h5",
        tmp_path / "nowhere" / "d.h5",
    ]  # each place once, normalized
    assert f"(searched {', '.join(map(str, places))}, named in {moved})" in r.stderr


def test_config_error_through_the_library_api(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="learning_rate: must be a positive number"):
        load_config(_cfg(tmp_path, GOOD.replace("0.1", "-1")))


def test_config_yaml_with_nulls_reloads(cli, runs_dir: Path, tmp_path: Path) -> None:
    # config.yaml writes optional keys as null (dataset.test, loss options...); train, gradcheck
    # and evaluate read it back, so null must mean "the default".
    import h5py
    import numpy as np

    with h5py.File(tmp_path / "tiny.h5", "w") as f:
        f["tiny_x"] = np.random.RandomState(0).rand(20, 3)
        f["tiny_y"] = np.arange(20) % 2
    text = GOOD.replace(
        "{synthetic: moons, m: 60, test_fraction: 0.25, seed: 1}",
        f"{{train: {tmp_path / 'tiny.h5'}}}",
    )
    r = cli("train", _cfg(tmp_path, text), "--quiet")
    assert r.exit_code == 0, r.stderr
    saved = runs_dir / r.stdout.strip() / "config.yaml"
    assert "test: null" in saved.read_text()
    assert load_config(saved).dataset["test"] is None
    again = cli("train", saved, "--quiet")
    assert again.exit_code == 0, again.stderr
