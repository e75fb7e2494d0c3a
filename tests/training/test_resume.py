"""Checkpoints and ``nnctl train --resume``: an interrupted and resumed run ends bit for bit
where an uninterrupted one does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config
from nnctl.commands import train_run
from nnctl.config import load_config
from nnctl.runs import CHECKPOINT_FILE

# Everything that carries state across steps at once: Adam's moments, mini-batch shuffling
# (stopped mid-epoch), dropout masks, lr decay, the validation hold-out and early stopping.
CONFIG = """\
dataset: {synthetic: spiral, m: 150, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 12, 8, 3]
activations: {hidden: tanh, output: softmax}
init: xavier
seed: 4
optimizer: adam
learning_rate: 0.02
lr_decay: {rate: 0.5, interval: 3}
batch_size: 16
epochs: 12
dropout: [0.8, 0.9]
l2: 0.01
validation_fraction: 0.2
early_stopping: {patience: 50}
checkpoint_every: 5
"""


def interrupt_at(n: int):
    def on_iteration(i: int, cost: float) -> None:
        if i == n:
            raise KeyboardInterrupt

    return on_iteration


def files(run_dir: Path) -> tuple[dict, str]:
    with np.load(run_dir / "params.npz") as z:
        params = {k: z[k] for k in z.files}
    return params, (run_dir / "history.csv").read_text()


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_interrupted_and_resumed_run_is_bit_identical(cli, runs_dir, tmp_path, optimizer) -> None:
    path = write_config(
        tmp_path / "r.yaml", CONFIG.replace("optimizer: adam", f"optimizer: {optimizer}")
    )
    r = cli("train", path, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    whole = Path(json.loads(r.stdout)["run_dir"])
    # issue 15: a complete run whose state is more than its parameters (Adam, mini-batches,
    # dropout, early stopping) keeps its final state, so that it can be trained further
    assert (whole / CHECKPOINT_FILE).is_file()

    # 97 training examples / 16 = 7 batches an epoch; stop in the middle of epoch 3
    broken = train_run(load_config(path), runs_dir, on_iteration=interrupt_at(22))
    assert broken.status == "interrupted"
    assert broken.summary.iterations_done == 23  # iteration 22 completed, then Ctrl-C
    assert (broken.run_dir / CHECKPOINT_FILE).is_file()  # written on the interruption
    assert not (broken.run_dir / "params.npz").exists()

    r = cli("train", "--resume", broken.run_id, "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["run_id"] == broken.run_id and out["status"] == "complete"
    # issue 15: the interruption itself checkpoints the last whole step (23), not only step 20
    assert "Cost after iteration 23:" in r.stderr
    assert "Cost after iteration 0:" not in r.stderr
    p_whole, h_whole = files(whole)
    p_resumed, h_resumed = files(broken.run_dir)
    assert sorted(p_whole) == sorted(p_resumed)
    for k in p_whole:
        assert p_whole[k].dtype == p_resumed[k].dtype and np.array_equal(
            p_whole[k], p_resumed[k]
        ), k
    assert h_whole == h_resumed
    s = json.loads((broken.run_dir / "summary.json").read_text())
    assert s["resumed"][0]["from_iteration"] == 23  # epoch 3, batch 2: mid-epoch
    assert s["train_accuracy"] == json.loads((whole / "summary.json").read_text())["train_accuracy"]
    assert (broken.run_dir / CHECKPOINT_FILE).is_file()  # its final state (issue 15)


def test_resume_refuses_complete_runs_and_runs_without_checkpoints(
    cli, runs_dir, tmp_path, moons_run
) -> None:
    r = cli("train", "--resume", moons_run.name)
    assert r.exit_code == 2
    assert "the run is already complete; there is nothing to resume" in r.stderr

    cfg = load_config(
        write_config(tmp_path / "n.yaml", CONFIG.replace("checkpoint_every: 5\n", ""))
    )
    broken = train_run(cfg, runs_dir, on_iteration=interrupt_at(3))
    # issue 15: an interruption writes a checkpoint of the last whole step even without
    # checkpoint_every; a run killed before any checkpoint has none
    assert (broken.run_dir / CHECKPOINT_FILE).is_file()
    (broken.run_dir / CHECKPOINT_FILE).unlink()
    r = cli("train", "--resume", str(broken.run_dir))
    assert r.exit_code == 2
    assert f"{broken.run_dir}: no checkpoint.npz to resume from" in r.stderr
    assert "checkpoint_every" in r.stderr


def test_resume_takes_no_config(cli, runs_dir, tmp_path) -> None:
    path = write_config(tmp_path / "r.yaml", CONFIG)
    r = cli("train", path, "--resume", "latest")
    assert r.exit_code == 2 and "give no CONFIG and no --set" in r.stderr
    r = cli("train")
    assert (
        r.exit_code == 2 and "missing CONFIG: give a YAML config file, or --resume RUN" in r.stderr
    )
    r = cli("train", "--resume", "nope")
    assert r.exit_code == 2 and "nope: no run with this id or prefix" in r.stderr


def test_resume_refuses_changed_data(cli, runs_dir, tmp_path) -> None:
    cfg = load_config(write_config(tmp_path / "r.yaml", CONFIG))
    broken = train_run(cfg, runs_dir, on_iteration=interrupt_at(10))
    conf = broken.run_dir / "config.yaml"
    conf.write_text(conf.read_text().replace("m: 150", "m: 151"))
    r = cli("train", "--resume", str(broken.run_dir))
    assert r.exit_code == 2 and "the dataset differs from the one the run started with" in r.stderr


def test_damaged_checkpoint_is_one_line(cli, runs_dir, tmp_path) -> None:
    cfg = load_config(write_config(tmp_path / "r.yaml", CONFIG))
    broken = train_run(cfg, runs_dir, on_iteration=interrupt_at(10))
    (broken.run_dir / CHECKPOINT_FILE).write_bytes(b"not a zip")
    r = cli("train", "--resume", str(broken.run_dir))
    assert r.exit_code == 2 and "damaged or unreadable checkpoint" in r.stderr
    assert "Traceback" not in r.stderr


def test_resume_refuses_a_diverged_run(cli, runs_dir, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "d.yaml",
        """\
dataset: {synthetic: sine, m: 100, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, linear]
learning_rate: 50
iterations: 500
checkpoint_every: 1
""",
    )
    r = cli("train", cfg, "--quiet")
    assert r.exit_code == 1
    run_id = r.stdout.strip()
    assert (runs_dir / run_id / CHECKPOINT_FILE).is_file()
    r = cli("train", "--resume", run_id)
    assert r.exit_code == 2
    assert "resuming would diverge again at the same step" in r.stderr


def test_a_batch_normalized_run_resumes_bit_identically(cli, runs_dir, tmp_path) -> None:
    """Everything above plus batch normalization on the first hidden layer: gamma and beta in
    Adam's moments, the running averages in the checkpoint's parameters and best parameters."""
    text = CONFIG.replace("batch_size: 16", "batch_size: 10")  # 97 = 9 * 10 + 7: no batch of 1
    path = write_config(tmp_path / "bn.yaml", text + "batch_norm: {layers: [true, false]}\n")
    r = cli("train", path, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    whole = Path(json.loads(r.stdout)["run_dir"])
    broken = train_run(load_config(path), runs_dir, on_iteration=interrupt_at(22))
    assert broken.status == "interrupted"
    with np.load(broken.run_dir / CHECKPOINT_FILE) as z:
        saved = set(z.files)
    assert {"param_gamma1", "param_running_var1", "param_b2", "opt_v6", "opt_s6"} <= saved
    assert "param_b1" not in saved
    r = cli("train", "--resume", broken.run_id, "--json")
    assert r.exit_code == 0, r.stderr
    p_whole, h_whole = files(whole)
    p_resumed, h_resumed = files(broken.run_dir)
    assert list(p_whole) == list(p_resumed) and "running_mean1" in p_whole
    for k in p_whole:
        assert np.array_equal(p_whole[k], p_resumed[k]), k
    assert h_whole == h_resumed
