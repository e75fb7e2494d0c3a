""" "A new one is one entry": an activation, a loss, an optimizer or a dataset kind registered in
its table alone (here with monkeypatch) is accepted by config, trained by train, scored by
evaluate and covered by gradcheck, with no other edit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import yaml

from helpers import write_config
from nnctl.commands import gradcheck
from nnctl.config import CONFIG_KEYS, Config, dump_config, load_config
from nnctl.core import (
    ACTIVATIONS,
    LOSSES,
    OPTIMIZERS,
    Activation,
    CheckTargets,
    Hyperparameter,
    Loss,
    one_unit_per_target,
)
from nnctl.data import SYNTHETIC, Synthetic
from nnctl.system import positive_number


def train(cli, cfg: Path, *args: str) -> tuple[Path, dict]:
    r = cli("train", str(cfg), "--quiet", "--json", *args)
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    return run, json.loads((run / "summary.json").read_text())


SMALL = """
dataset: {synthetic: %s, m: 120, seed: 1}
layer_dims: [auto, 6, %d]
activations: {hidden: %s, output: %s}
learning_rate: 0.1
iterations: 30
"""


def test_a_new_activation_is_one_entry(cli, runs_dir: Path, tmp_path: Path, monkeypatch) -> None:
    def softsign(Z: np.ndarray) -> np.ndarray:
        return Z / (1 + np.abs(Z))

    def softsign_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
        return dA * (1 - np.abs(A)) ** 2  # 1 / (1 + |Z|)^2 written with A

    monkeypatch.setitem(ACTIVATIONS, "softsign", Activation(softsign, softsign_backward))
    cfg = write_config(tmp_path / "s.yaml", SMALL % ("moons", 1, "softsign", "sigmoid"))
    assert load_config(cfg).activations == ["softsign", "sigmoid"]
    run, summary = train(cli, cfg)
    assert summary["status"] == "complete" and summary["train_accuracy"] is not None
    r = cli("gradcheck", str(cfg), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["passed"], r.stdout


def test_a_new_loss_is_one_entry(cli, runs_dir: Path, tmp_path: Path, monkeypatch) -> None:
    def half_squared_error(ZL: np.ndarray, AL: np.ndarray, Y: np.ndarray) -> float:
        return float(np.mean((AL - Y) ** 2)) / 2

    def half_squared_error_grad(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return (1.0 / AL.shape[0]) * (AL - Y)

    monkeypatch.setitem(
        LOSSES,
        "half_squared_error",
        Loss(
            half_squared_error,
            half_squared_error_grad,
            "linear",
            task="regression",
            units=one_unit_per_target,
            check_targets=CheckTargets(2, lambda rng, n, m: rng.standard_normal((n, m))),
        ),
    )
    cfg = write_config(
        tmp_path / "h.yaml", SMALL % ("sine", 1, "tanh", "linear") + "loss: half_squared_error\n"
    )
    assert load_config(cfg).loss == "half_squared_error"
    bad = cli("config", "check", str(cfg), "--set", "layer_dims=[auto, 6, 2]")
    assert (
        bad.exit_code == 2 and "use 1" in bad.stderr
    )  # its output-unit rule, checked against the data
    run, summary = train(cli, cfg)
    assert summary["status"] == "complete"
    ev = json.loads(cli("evaluate", str(run), "--json").stdout)
    assert ev["mse"] == summary["test_mse"]
    monkeypatch.setattr(gradcheck.suite, "SUITE_SCALES", (1.0,))
    r = cli("gradcheck", "--json")
    checks = [
        c
        for c in json.loads(r.stdout)["checks"]
        if c["network"].split(",")[0].endswith("linear/half_squared_error")
    ]
    assert r.exit_code == 0 and checks and all(c["passed"] for c in checks)
    # its cost takes no per-example weights: checked unweighted, and said so
    assert not any(", weights" in c["network"] for c in checks)
    assert "half_squared_error: the cost takes no per-example weights" in r.stderr


class ScaledGD:
    """W := W - lr scale dW."""

    HYPERPARAMETERS = {"scale": Hyperparameter(0.5, positive_number, "step scale")}

    def __init__(self, params, cfg) -> None:
        self.scale = cfg.hyperparameters["scale"]

    def step(self, params, dWs, dbs, lr: float) -> None:
        for W, b, dW, db in zip(params.Ws, params.bs, dWs, dbs):
            W -= lr * self.scale * dW
            b -= lr * self.scale * db

    def state(self) -> dict:
        return {}

    def load_state(self, arrays: dict) -> None:
        pass


def test_a_new_optimizer_is_one_entry(cli, runs_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(OPTIMIZERS, "scaled_gd", ScaledGD)
    cfg = write_config(
        tmp_path / "o.yaml", SMALL % ("moons", 1, "relu", "sigmoid") + "optimizer: scaled_gd\n"
    )
    assert load_config(cfg).hyperparameters == {"scale": 0.5}
    assert load_config(cfg, ["scale=2"]).hyperparameters == {"scale": 2}
    assert "scale: 2" in dump_config(load_config(cfg, ["scale=2"]))
    r = cli("config", "check", str(cfg), "--set", "optimizer=gd", "--set", "scale=2")
    assert (
        r.exit_code == 2
        and "scale: only used by optimizer scaled_gd, but optimizer is gd" in r.stderr
    )
    r = cli("config", "check", str(cfg), "--set", "scale=-1")
    assert r.exit_code == 2 and "scale: must be a positive number" in r.stderr
    run, summary = train(cli, cfg)
    assert summary["status"] == "complete"
    assert load_config(run / "config.yaml").hyperparameters == {"scale": 0.5}


def test_a_new_dataset_kind_is_one_entry(cli, runs_dir: Path, tmp_path: Path, monkeypatch) -> None:
    def blobs(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(m) % 2
        return np.vstack([y * 2.0 - 1.0, -y * 1.0]) + noise * rng.randn(2, m), y

    monkeypatch.setitem(SYNTHETIC, "blobs", Synthetic(blobs, 0.3, ("left", "right")))
    cfg = write_config(tmp_path / "b.yaml", SMALL % ("blobs", 1, "relu", "sigmoid"))
    assert load_config(cfg).dataset["noise"] == 0.3
    run, summary = train(cli, cfg)
    assert summary["status"] == "complete"
    ev = json.loads(cli("evaluate", str(run), "--json").stdout)
    assert ev["classes"] == ["left", "right"] and ev["accuracy"] == summary["test_accuracy"]


def test_config_fields_are_the_key_table() -> None:
    """A new config key is a CONFIG_KEYS entry plus its typed Config field; nothing else lists
    keys."""
    fields = [
        f.name
        for f in dataclasses.fields(Config)
        if f.name not in ("source", "path", "hyperparameters")
    ]
    assert fields == list(CONFIG_KEYS)


def test_a_new_file_kind_is_one_readers_entry(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """A reader for a new kind of file (here: 'label x1 x2' lines) is one KINDS entry; config
    validation, train, config show, predict and evaluate --data pick it up."""
    from nnctl.data import KINDS, Kind, RawSplit

    def read_lines(path: Path, options) -> RawSplit:
        rows = np.array(
            [[float(v) for v in line.split()] for line in path.read_text().splitlines()]
        )
        return RawSplit(
            rows[:, 1:], rows[:, 0] if options.need_labels else None, None, path, "x", "label"
        )

    monkeypatch.setitem(
        KINDS,
        "lines",
        Kind(lambda path, head: path.suffix == ".lines", read_lines, "label x1 x2 lines"),
    )
    rng = np.random.RandomState(0)
    x = rng.randn(60, 2)
    (tmp_path / "d.lines").write_text("".join(f"{int(a > 0)} {a} {b}\n" for a, b in x))
    cfg = write_config(
        tmp_path / "k.yaml",
        "dataset: {train: d.lines, test_fraction: 0.25}\n"
        "layer_dims: [auto, 1]\nactivations: [sigmoid]\nlearning_rate: 0.5\niterations: 200\n",
    )
    shown = yaml.safe_load(cli("config", "show", str(cfg)).stdout)
    assert (
        shown["dataset"]["kind"] == "lines" and shown["normalize"] == "standard"
    )  # features: auto -> standard
    run, summary = train(cli, cfg)
    assert summary["status"] == "complete" and summary["test_accuracy"] > 0.9
    ev = json.loads(cli("evaluate", str(run), "--data", tmp_path / "d.lines", "--json").stdout)
    assert ev["n"] == 60 and ev["accuracy"] > 0.9
