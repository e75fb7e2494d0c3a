"""Learning-rate schedules in training: the loop steps with each epoch's rate, history.csv
records it (a run without a schedule keeps its columns), a cosine run trained further with
--more keeps the rates of the epochs it had, and an interrupted scheduled run resumes bit for
bit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

import nnctl.commands.train as train_mod
from helpers import write_config
from nnctl.commands import train_run
from nnctl.config import load_config, resolve
from nnctl.core import GradientDescent
from nnctl.training import learning_rate_at

CONFIG = """\
dataset: {synthetic: moons, m: 100, seed: 2, test_fraction: 0.2}
layer_dims: [auto, 5, 1]
activations: {hidden: relu, output: sigmoid}
learning_rate: 0.1
batch_size: 32
epochs: 8
seed: 3
"""


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def train(cli, path: Path, *args: str) -> Path:
    r = cli("train", str(path), "--quiet", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_the_loop_steps_with_each_epochs_scheduled_rate(monkeypatch) -> None:
    rates: list[float] = []
    monkeypatch.setattr(GradientDescent, "step", lambda self, p, dWs, dbs, lr: rates.append(lr))
    cfg = resolve(
        {
            "dataset": {"synthetic": "moons", "m": 10, "test_fraction": 0.0, "seed": 1},
            "layer_dims": [2, 3, 1],
            "activations": ["relu", "sigmoid"],
            "learning_rate": 0.1,
            "epochs": 4,
            "batch_size": 5,
            "lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
        },
        "t.yaml",
    )
    X = np.arange(20, dtype=float).reshape(2, 10)
    Y = (np.arange(10) % 2).reshape(1, 10)
    train_mod.fit(cfg, X, Y)
    assert rates == [0.1] * 4 + [0.05] * 4  # two batches an epoch, halved after two epochs


def test_history_records_each_steps_rate_and_the_report_shows_it(cli, runs_dir, tmp_path) -> None:
    path = write_config(
        tmp_path / "c.yaml", CONFIG + "lr_schedule: {name: cosine, warmup_epochs: 2}\n"
    )
    run = train(cli, path)
    h = rows(run)
    assert list(h[0]) == ["iteration", "cost", "epoch", "learning_rate"]
    cfg = load_config(run / "config.yaml")
    assert cfg.lr_schedule["decay_epochs"] == 8  # pinned in the run's config
    for r in h:
        assert float(r["learning_rate"]) == learning_rate_at(cfg, int(r["epoch"]))
    by_epoch = {int(r["epoch"]): float(r["learning_rate"]) for r in h}
    assert by_epoch[0] == 0.05 and by_epoch[1] == 0.1 and by_epoch[7] < by_epoch[2]
    out = tmp_path / "r.html"
    assert cli("report", str(run), "-o", str(out)).exit_code == 0
    assert "learning rate (lr_schedule, per epoch)" in out.read_text()


def test_lr_decay_runs_record_their_rate_and_unscheduled_runs_keep_their_columns(
    cli, runs_dir, tmp_path
) -> None:
    run = train(cli, write_config(tmp_path / "d.yaml", CONFIG + "lr_decay: 1.0\n"))
    assert [float(r["learning_rate"]) for r in rows(run)][::3] == [0.1 / (1 + e) for e in range(8)]
    plain = train(cli, write_config(tmp_path / "p.yaml", CONFIG))
    assert list(rows(plain)[0]) == ["iteration", "cost", "epoch"]
    out = tmp_path / "p.html"
    assert cli("report", str(plain), "-o", str(out)).exit_code == 0
    assert "learning rate (lr_schedule" not in out.read_text()


def test_more_epochs_keep_the_cosine_rates_already_used(cli, runs_dir, tmp_path) -> None:
    path = write_config(
        tmp_path / "c.yaml", CONFIG + "lr_schedule: {name: cosine, min_lr: 0.001}\n"
    )
    run = train(cli, path)
    before = rows(run)
    r = cli("train", "--resume", str(run), "--more", "2", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    after = rows(run)
    assert after[: len(before)] == before  # the first 8 epochs: the same rates and costs
    assert {float(r["learning_rate"]) for r in after[len(before) :]} == {0.001}
    assert load_config(run / "config.yaml").lr_schedule["decay_epochs"] == 8


def test_an_interrupted_scheduled_run_resumes_bit_for_bit(cli, runs_dir, tmp_path) -> None:
    text = CONFIG + (
        "optimizer: rmsprop\nlearning_rate: 0.01\n"
        "lr_schedule: {name: cosine, warmup_epochs: 2, min_lr: 0.0001}\n"
    )
    path = write_config(tmp_path / "c.yaml", text.replace("learning_rate: 0.1\n", ""))
    whole = train(cli, path)

    def stop(i: int, cost: float) -> None:
        if i == 9:  # in epoch 3 (3 batches an epoch), after the warm-up
            raise KeyboardInterrupt

    broken = train_run(load_config(path), runs_dir, on_iteration=stop)
    assert broken.status == "interrupted"
    r = cli("train", "--resume", broken.run_id, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert (broken.run_dir / "history.csv").read_text() == (whole / "history.csv").read_text()
    with np.load(whole / "params.npz") as a, np.load(broken.run_dir / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
