"""``nnctl.train``: the same run as ``nnctl train`` (config file, dict, Config, keyword overrides,
bit-identical parameters), the same messages for bad overrides, callbacks, threads, warnings and
divergence, and nothing printed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnctl
from helpers import MOONS_SMALL, write_config
from nnctl.runs import PARAMS_FILE, read_params


def _params(run_dir: Path) -> dict[str, np.ndarray]:
    return read_params(Path(run_dir) / PARAMS_FILE)


def _same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a
    )


def _cli_run(cli, *args: object) -> Path:
    r = cli("train", *args, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_train_from_a_file_is_nnctl_train_bit_for_bit(cli, runs_dir, tmp_path, capsys) -> None:
    cfg = write_config(tmp_path / "moons.yaml", MOONS_SMALL)
    by_cli = _cli_run(cli, cfg)
    capsys.readouterr()
    run = nnctl.train(cfg, runs_dir=runs_dir)
    assert capsys.readouterr() == ("", "")  # the library never prints
    assert isinstance(run, nnctl.Run) and run.status == "complete"
    assert run.dir.parent == runs_dir and run.id == run.dir.name != by_cli.name
    assert _same_bits(_params(run.dir), _params(by_cli))
    assert run.summary.config_file == str(cfg) and run.summary.name == "moons"
    assert (run.dir / "history.csv").read_text() == (by_cli / "history.csv").read_text()


def test_a_dict_and_a_config_train_the_same_run(runs_dir, tmp_path, moons_cfg) -> None:
    from nnctl.config import load_config

    cfg_file = write_config(tmp_path / "moons.yaml", MOONS_SMALL)
    from_file = nnctl.train(cfg_file, runs_dir=runs_dir)
    from_dict = nnctl.train(moons_cfg, runs_dir=runs_dir)
    from_config = nnctl.train(load_config(cfg_file), runs_dir=runs_dir)
    assert _same_bits(from_dict.params, from_file.params)
    assert _same_bits(from_config.params, from_file.params)
    assert from_dict.summary.name == "run" and from_dict.summary.config_file == "<config dict>"
    assert from_dict.config["learning_rate"] == 0.5 and from_dict.config["layer_dims"] == [2, 8, 1]


def test_keyword_overrides_are_set_options(cli, runs_dir, tmp_path, moons_cfg) -> None:
    cfg = write_config(tmp_path / "moons.yaml", MOONS_SMALL)
    by_cli = _cli_run(
        cli,
        cfg,
        "--set",
        "learning_rate=0.05",
        "--set",
        "optimizer=adam",
        "--set",
        "dataset.test_fraction=0.3",
        "--set",
        "layer_dims=[auto, 5, 1]",
    )
    kwargs = {
        "learning_rate": 0.05,
        "optimizer": "adam",
        "dataset.test_fraction": 0.3,
        "layer_dims": ["auto", np.int64(5), 1],
    }
    run = nnctl.train(cfg, runs_dir=runs_dir, **kwargs)
    assert _same_bits(run.params, _params(by_cli))
    assert run.summary.config_file == f"{cfg} (with --set)"
    assert run.config["dataset"]["test_fraction"] == 0.3
    # a whole mapping replaces the key, as --set dataset={...} does
    other = nnctl.train(moons_cfg, runs_dir=runs_dir, dataset={"synthetic": "circles", "m": 80})
    assert other.summary.dataset["n_train"] == 64


@pytest.mark.parametrize(
    "overrides, cli_set",
    [
        ({"learnin_rate": 0.1}, "learnin_rate=0.1"),
        ({"learning_rate": -1}, "learning_rate=-1"),
        ({"optimizer": "adamw"}, "optimizer=adamw"),
        ({"datset.m": 10}, "datset.m=10"),
        ({"beta1": 0.8}, "beta1=0.8"),
        ({"activations": "relu"}, "activations=relu"),
    ],
)
def test_bad_overrides_get_the_messages_of_set(
    cli, runs_dir, tmp_path, overrides: dict, cli_set: str
) -> None:
    cfg = write_config(tmp_path / "moons.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--set", cli_set)
    assert r.exit_code == 2
    with pytest.raises(nnctl.ConfigError) as exc:
        nnctl.train(cfg, runs_dir=runs_dir, **overrides)
    assert r.stderr == f"error: {exc.value}\n"
    assert not runs_dir.exists()  # nothing written


def test_did_you_mean_for_a_mistyped_keyword(runs_dir, moons_cfg) -> None:
    with pytest.raises(nnctl.ConfigError, match=r"unknown key 'iteratons' \(did you mean iter"):
        nnctl.train(moons_cfg, runs_dir=runs_dir, iteratons=10)


def test_a_config_of_the_wrong_type_is_a_type_error(runs_dir) -> None:
    with pytest.raises(TypeError, match="config: expected a YAML file path, a dict"):
        nnctl.train(42, runs_dir=runs_dir)
    with pytest.raises(nnctl.ConfigError, match="no such config file"):
        nnctl.train("missing.yaml", runs_dir=runs_dir)
    with pytest.raises(nnctl.ConfigError, match="cannot be a config value"):
        nnctl.train({}, runs_dir=runs_dir, learning_rate=object())


def test_the_callback_sees_every_step(runs_dir, moons_cfg) -> None:
    seen: list[nnctl.TrainProgress] = []
    run = nnctl.train(moons_cfg, runs_dir=runs_dir, callback=seen.append, iterations=40)
    assert [p.iteration for p in seen] == list(range(40))
    assert {p.total for p in seen} == {40} and {p.run_id for p in seen} == {run.id}
    assert np.array_equal([p.cost for p in seen], run.history.costs)


def test_progress_bar_runs_and_the_result_is_the_same(runs_dir, moons_cfg, capsys) -> None:
    plain = nnctl.train(moons_cfg, runs_dir=runs_dir, iterations=30)
    shown = nnctl.train(moons_cfg, runs_dir=runs_dir, iterations=30, progress=True)
    assert _same_bits(plain.params, shown.params)
    assert "run " + shown.id in capsys.readouterr().out  # rich's bar, on its console


def test_threads_are_recorded_and_checked(runs_dir, moons_cfg) -> None:
    run = nnctl.train(moons_cfg, runs_dir=runs_dir, threads=1)
    assert run.summary.threads["setting"] == "option"
    assert run.summary.threads["blas_threads"] == 1
    with pytest.raises(nnctl.OptionError, match="threads must be a positive whole number"):
        nnctl.train(moons_cfg, runs_dir=runs_dir, threads=0)


def test_warnings_are_python_warnings(runs_dir, moons_cfg) -> None:
    with pytest.warns(nnctl.NnctlWarning, match="init: zeros with 1 hidden layer"):
        nnctl.train(moons_cfg, runs_dir=runs_dir, init="zeros", iterations=5)


def test_divergence_raises_with_the_run(runs_dir, moons_cfg) -> None:
    with pytest.raises(nnctl.TrainingDiverged, match="training diverged: the cost became") as e:
        nnctl.train(moons_cfg, runs_dir=runs_dir, learning_rate=1e200, init="small")
    assert isinstance(e.value, nnctl.RunError)
    assert e.value.run.status == "diverged" and not (e.value.run.dir / PARAMS_FILE).exists()


def test_runs_dir_defaults_to_the_environment(runs_dir, moons_cfg) -> None:
    run = nnctl.train(moons_cfg, iterations=5)  # NNCTL_RUNS_DIR is runs_dir
    assert run.dir.parent == runs_dir
    assert nnctl.load_run("latest") == run
