"""Validation hold-out, early stopping restoring the best epoch, and divergence."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config
from nnctl.commands import fit
from nnctl.config import resolve
from nnctl.data import hold_out, load_dataset
from nnctl.training import EarlyStopping

RAW = {
    "dataset": {"synthetic": "moons", "m": 60, "test_fraction": 0.0, "seed": 1},
    "layer_dims": [2, 6, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.5,
    "init": "he",
}


def test_hold_out_is_stratified_seeded_and_disjoint() -> None:
    ds = load_dataset(
        {"synthetic": "spiral", "m": 300, "test_fraction": 0.0, "seed": 1, "noise": 0.2}
    )
    a = hold_out(ds, 0.2, np.random.default_rng(4))
    b = hold_out(ds, 0.2, np.random.default_rng(4))
    assert a.X_val.shape == (2, 60) and a.X_train.shape == (2, 240)
    assert np.bincount(a.Y_val[0]).tolist() == [20, 20, 20]  # 20% of each class's 100
    assert np.array_equal(a.X_val, b.X_val)
    # every example lands in exactly one of the two sets
    both = np.concatenate([a.X_train, a.X_val], axis=1)
    assert sorted(map(tuple, both.T)) == sorted(map(tuple, ds.X_train.T))
    assert not np.array_equal(a.X_val, hold_out(ds, 0.2, np.random.default_rng(5)).X_val)


def test_early_stopping_keeps_the_best_and_counts_patience() -> None:
    es = EarlyStopping(patience=2, min_delta=0.1)
    from nnctl.core import Params

    def p(v: float) -> Params:
        return Params([np.array([[v]])], [np.zeros((1, 1))])

    assert not es.update(0, 1.0, p(0.0))
    assert not es.update(1, 0.95, p(1.0))  # better, but not by more than min_delta
    assert not es.update(2, 0.5, p(2.0))
    assert not es.update(3, 0.6, p(3.0))
    assert es.update(4, 0.45, p(4.0))  # second epoch in a row without a 0.1 improvement
    assert es.best_epoch == 2 and es.best_loss == 0.5 and es.best_params.Ws[0][0, 0] == 2.0


def test_early_stopping_restores_the_best_epochs_parameters() -> None:
    cfg = resolve(
        {**RAW, "epochs": 50, "validation_fraction": 0.2, "early_stopping": {"patience": 3}},
        "t.yaml",
    )
    ds = load_dataset(cfg.dataset)
    X, Y = ds.X_train, ds.Y_train
    # Validating on the flipped labels: every step that fits the training set makes the
    # validation loss worse, so the best epoch is the first one.
    result = fit(cfg, X, Y, X_val=X, Y_val=1 - Y)
    assert result.status == "complete" and result.stopped_early
    assert result.best_epoch == 0
    losses = [row[1] for row in result.val_rows]
    assert len(losses) == 4 and losses == sorted(losses)  # epochs 0..3, then patience ran out
    assert "early stopping after epoch 3" in result.message
    one_step = fit(resolve({**RAW, "iterations": 1}, "t.yaml"), X, Y)
    assert len(result.costs) == 4
    for a, b in zip(result.params.Ws + result.params.bs, one_step.params.Ws + one_step.params.bs):
        assert np.array_equal(a, b)


SPIRAL = """\
dataset: {synthetic: spiral, m: 300, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 16, 3]
activations: [relu, softmax]
init: he
optimizer: adam
learning_rate: 0.05
batch_size: 32
epochs: 60
validation_fraction: 0.25
early_stopping: {patience: 5, min_delta: 0.001}
"""


def test_validation_history_and_best_epoch_in_the_run(cli, runs_dir, tmp_path) -> None:
    r = cli("train", write_config(tmp_path / "s.yaml", SPIRAL), "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    s = json.loads((run_dir / "summary.json").read_text())
    rows = list(csv.DictReader(io.StringIO((run_dir / "history.csv").read_text())))
    assert list(rows[0]) == ["iteration", "cost", "epoch", "val_loss", "val_accuracy"]
    per_epoch = [r for r in rows if r["val_loss"]]
    assert len(per_epoch) == s["epochs_done"]
    assert all(int(r["iteration"]) % 6 == 5 for r in per_epoch)  # 180 examples / 32 -> 6 batches
    val_losses = [float(r["val_loss"]) for r in per_epoch]
    best = s["best_epoch"]
    # the best epoch is the last one that beat the best so far by more than min_delta
    assert all(v > val_losses[best] - 0.001 for v in val_losses)
    assert all(v > min(val_losses[:e]) - 0.001 for e, v in enumerate(val_losses) if e > best)
    assert s["val_loss"] == val_losses[best]  # the saved parameters are the best epoch's
    assert float(per_epoch[best]["val_accuracy"]) == s["val_accuracy"]
    assert s["dataset"]["n_val"] == 60 and s["dataset"]["n_train"] == 180
    if s["stopped_early"]:
        assert s["epochs_done"] == best + 6
        assert "early stopping" in s["message"]


def test_divergence_stops_with_exit_1_and_advice(cli, runs_dir, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "d.yaml",
        """\
dataset: {synthetic: sine, m: 100, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, linear]
learning_rate: 50
iterations: 500
""",
    )
    r = cli("train", cfg, "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["status"] == "diverged"
    assert (
        "training diverged: the cost became" in r.stderr
        and "try a smaller learning_rate than 50" in r.stderr
    )
    s = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert s["status"] == "diverged" and s["iterations_done"] < 500
    assert not (Path(out["run_dir"]) / "params.npz").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            "epochs: 5\n",
            "give exactly one of iterations (gradient steps) or epochs "
            "(passes over the training set); both are set",
        ),
        (
            "optimizer: adamw\n",
            "optimizer: got the string 'adamw' (did you mean adam?); "
            "valid: gd, momentum, adam, rmsprop",
        ),
        (
            "optimizer: momentum\nbeta2: 0.9\n",
            "beta2: only used by optimizer adam or rmsprop, but optimizer is momentum; "
            "remove it or set optimizer: adam",
        ),
        ("optimizer: rmsprop\nbeta2: 1\n", "beta2: must be in [0.0, 1.0), got 1"),
        ("optimizer: rmsprop\nepsilon: 0\n", "epsilon: must be a positive number, got 0"),
        (
            "beta1: 0.8\n",
            "beta1: only used by optimizer adam, but optimizer is gd; "
            "remove it or set optimizer: adam",
        ),
        ("optimizer: momentum\nbeta: 1.0\n", "beta: must be in [0.0, 1.0), got 1.0"),
        ("batch_size: 0\n", "batch_size: must be a positive whole number, got 0"),
        (
            "dropout: [0.5, 0.5]\n",
            "dropout: got 2 keep probabilities but the network has 1 hidden layer(s)",
        ),
        (
            "dropout: 0\n",
            "dropout: a keep probability must be in (0, 1] (1 keeps every unit), got 0.0",
        ),
        ("l2: -1\n", "l2: must be >= 0, got -1"),
        (
            "lr_decay: {rate: 0.1, every: 3}\n",
            "lr_decay: unknown key 'every'; valid keys: rate, interval",
        ),
        (
            "early_stopping: {patience: 3}\n",
            "early_stopping: needs a validation set; set validation_fraction",
        ),
        (
            "early_stopping: {min_delta: 0.1}\nvalidation_fraction: 0.2\n",
            "early_stopping: missing key 'patience'",
        ),
        ("validation_fraction: 1.0\n", "validation_fraction: must be in [0.0, 1.0), got 1.0"),
        ("checkpoint_every: 2.5\n", "checkpoint_every: expected a whole number, got 2.5"),
        (
            "lr_schedule: cosin\n",
            "lr_schedule: name: got the string 'cosin' (did you mean cosine?); "
            "valid: inverse_time, exponential, inverse_sqrt, step, cosine",
        ),
        (
            "lr_schedule: {name: step, step_size: 2, gama: 0.5}\n",
            "lr_schedule: unknown key 'gama' for schedule step (did you mean gamma?); "
            "valid keys: name, step_size, gamma",
        ),
        (
            "lr_schedule: {name: inverse_time, time_interval: 0}\n",
            "lr_schedule: time_interval: must be a positive whole number, got 0",
        ),
        ("lr_schedule: step\n", "lr_schedule: missing key 'step_size'"),
        ("lr_schedule: {gamma: 0.5}\n", "lr_schedule: missing key 'name' (one of inverse_time,"),
        (
            "lr_schedule: [cosine]\n",
            "lr_schedule: expected a schedule name like cosine or a mapping",
        ),
        ("lr_schedule: {name: exponential, gamma: 0}\n", "lr_schedule: gamma: must be in (0, 1]"),
        (
            "lr_schedule: {name: cosine, warmup_epochs: -1}\n",
            "lr_schedule: warmup_epochs: must be a whole number >= 0, got -1",
        ),
        (
            "lr_schedule: {name: cosine, warmup_epochs: 5}\n",
            "lr_schedule: warmup_epochs 5 is not shorter than the run's 5 epoch(s) of decay",
        ),
        (  # the run's epochs known only from the data: 5 steps of 32 batches an epoch
            "batch_size: 10\nlr_schedule: {name: cosine, warmup_epochs: 3}\n",
            "lr_schedule: warmup_epochs 3 is not shorter than the run's 1 epoch(s) of decay",
        ),
        (
            "lr_schedule: {name: cosine, min_lr: 1}\n",
            "lr_schedule: min_lr 1.0 is above learning_rate 0.1",
        ),
        ("shuffle: course\n", "shuffle: expected {course: 10} (the course's per-epoch seeds"),
        ("shuffle: {course: -1}\n", "shuffle: course: must be a whole number from 0 to 2**32 - 1"),
        (
            "lr_schedule: exponential\nlr_decay: 0.1\n",
            "give lr_schedule or lr_decay, not both",
        ),
    ],
)
def test_new_keys_are_validated_with_one_line(cli, runs_dir, tmp_path, extra, message) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        """\
dataset: moons
layer_dims: [auto, 4, 1]
activations: [relu, sigmoid]
learning_rate: 0.1
iterations: 5
"""
        + extra,
    )
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not runs_dir.exists()


def test_neither_iterations_nor_epochs(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        "dataset: moons\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\nlearning_rate: 0.1\n",
    )
    r = cli("train", cfg)
    assert r.exit_code == 2 and "neither is set" in r.stderr


def test_val_file_and_fraction_are_exclusive(cli, tmp_path, cat_dir) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        f"""\
dataset: {{train: {cat_dir}/train_catvnoncat.h5, val: {cat_dir}/test_catvnoncat.h5}}
layer_dims: [auto, 1]
activations: [sigmoid]
learning_rate: 0.005
iterations: 3
validation_fraction: 0.1
""",
    )
    r = cli("train", cfg)
    assert r.exit_code == 2 and "use one or the other" in r.stderr


def test_val_file_is_used_for_validation(cli, runs_dir, tmp_path, cat_dir) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        f"""\
dataset: {{train: {cat_dir}/train_catvnoncat.h5, val: {cat_dir}/test_catvnoncat.h5}}
layer_dims: [auto, 1]
activations: [sigmoid]
init: small
learning_rate: 0.005
iterations: 3
""",
    )
    r = cli("train", cfg, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["dataset"]["n_val"] == 50 and s["dataset"]["n_train"] == 209
    assert (run_dir / "history.csv").read_text().splitlines()[
        0
    ] == "iteration,cost,val_loss,val_accuracy"
