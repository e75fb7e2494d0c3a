"""nnctl cv: the folds partition the training data (stratified, seeded), every fold an ordinary
run whose summary the cv's statistics are computed from, the out-of-fold predictions those
runs' own predictions, suspect labels found on deliberately flipped labels, bad input refused
with nothing written."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config
from nnctl.sweep.cv import assign_folds

MOONS = """\
dataset: {synthetic: moons, m: 120, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 150
print_every: 50
seed: 3
"""


def _cv(cli, cfg: Path, *args: str) -> dict:
    r = cli("cv", cfg, *args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _summary(runs_dir: Path, run_id: str) -> dict:
    return json.loads((runs_dir / run_id / "summary.json").read_text())


# ------------------------------------------------------------------------------ fold assignment


def test_stratified_folds_partition_and_keep_each_class_share() -> None:
    Y = np.array([[0] * 31 + [1] * 13 + [2] * 7])
    folds = assign_folds(Y, 4, True, seed=5)
    assert folds.shape == (51,) and set(folds.tolist()) == {0, 1, 2, 3}
    sizes = np.bincount(folds, minlength=4)
    assert sizes.sum() == 51 and sizes.max() - sizes.min() <= 1
    for c, m_c in ((0, 31), (1, 13), (2, 7)):
        per_fold = np.bincount(folds[Y[0] == c], minlength=4)
        assert set(per_fold.tolist()) <= {m_c // 4, -(-m_c // 4)}, (c, per_fold)
    assert np.array_equal(folds, assign_folds(Y, 4, True, seed=5))  # seeded
    assert not np.array_equal(folds, assign_folds(Y, 4, True, seed=6))


def test_unstratified_folds_are_a_seeded_even_partition() -> None:
    Y = np.zeros((1, 23))
    folds = assign_folds(Y, 5, False, seed=1)
    assert sorted(np.bincount(folds).tolist()) == [4, 4, 5, 5, 5]
    assert np.array_equal(folds, assign_folds(Y, 5, False, seed=1))
    assert not np.array_equal(folds, assign_folds(Y, 5, False, seed=2))


# ------------------------------------------------------------------------------ the runs


def test_cv_statistics_are_the_child_runs_and_oof_their_predictions(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    import nnctl
    from nnctl.config import load_config
    from nnctl.data import load_dataset

    cfg_path = write_config(tmp_path / "moons.yaml", MOONS)
    out = _cv(cli, cfg_path, "--folds", "3")
    assert out["folds"] == 3 and out["stratify"] is True and out["seed"] == 3
    assert out["n_examples"] == 90  # 120 less the 25% test split
    assert "no fold is chosen as the best" in out["note"]
    assert [r["fold"] for r in out["runs"]] == [1, 2, 3]
    children = [_summary(runs_dir, r["run_id"]) for r in out["runs"]]
    for f, s in enumerate(children):
        assert s["status"] == "complete"
        assert (s["cv"], s["fold"], s["folds"]) == (out["cv_id"], f + 1, 3)
    assert set(out["metrics"]) == {"val_accuracy", "val_loss"}
    for name, m in out["metrics"].items():
        values = [s[name] for s in children]
        assert m["folds"] == values
        assert m["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert m["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)

    cv_dir = Path(out["cv_dir"])
    with np.load(cv_dir / "oof.npz") as z:
        index, fold, label, P = z["index"], z["fold"], z["label"], z["output"]
    assert np.array_equal(index, np.arange(90)) and np.bincount(fold).tolist() == [0, 30, 30, 30]
    ds = load_dataset(*_data_args(load_config(cfg_path)))
    assert np.array_equal(label, ds.Y_train)
    X_rows = ds.X_train.T
    for f, r in enumerate(out["runs"]):
        run = nnctl.load_run(runs_dir / r["run_id"])
        mine = fold == f + 1
        np.testing.assert_allclose(run.predict_proba(X_rows[mine]), P[:, mine].T, rtol=1e-12)
        # the fold's run scored its validation data: its accuracy is the out-of-fold one
        acc = np.mean(np.argmax(P[:, mine], axis=0) == label[0, mine])
        assert acc == pytest.approx(children[f]["val_accuracy"], abs=1e-12)
    rows = (cv_dir / "oof.csv").read_text().splitlines()
    assert rows[0] == "index,fold,label,predicted,p_label," + ",".join(
        f"p_{c}" for c in out["classes"]
    )
    assert sorted(out["classes"]) == ["lower", "upper"]
    assert len(rows) == 91

    # every fold run is an ordinary run the other commands read, and runs list finds them
    r = cli("evaluate", out["runs"][0]["run_id"], "--json")
    assert r.exit_code == 0, r.stderr
    r = cli("runs", "list", "--filter", f"cv={out['cv_id']}", "--columns", "id,fold", "--json")
    assert r.exit_code == 0, r.stderr
    listed = {row["id"]: row["fold"] for row in json.loads(r.stdout)}
    assert listed == {x["run_id"]: x["fold"] for x in out["runs"]}

    again = _cv(cli, cfg_path, "--folds", "3")  # the seed decides everything
    with np.load(Path(again["cv_dir"]) / "oof.npz") as z:
        assert np.array_equal(z["fold"], fold) and np.array_equal(z["output"], P)
    assert again["metrics"] == out["metrics"] and again["cv_id"] != out["cv_id"]


def _data_args(cfg) -> tuple:
    from nnctl.core import LOSSES

    return cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path


def test_suspects_are_the_flipped_labels(cli, runs_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    m = 120
    y = np.arange(m) % 2
    x = rng.normal(0, 0.4, (m, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)  # well apart
    flipped = np.array([3, 18, 40, 77, 101])
    y_noisy = y.copy()
    y_noisy[flipped] = 1 - y[flipped]
    np.savez(tmp_path / "blobs.npz", x=x, y=y_noisy)
    cfg = write_config(
        tmp_path / "blobs.yaml",
        "dataset: {train: blobs.npz}\nlayer_dims: [auto, 4, 1]\n"
        "activations: [relu, sigmoid]\ninit: he\nlearning_rate: 0.3\niterations: 300\n",
    )
    out = _cv(cli, cfg, "--folds", "4", "--suspects", "5")
    found = out["suspects"]
    assert sorted(s["index"] for s in found) == flipped.tolist()
    p = [s["p_label"] for s in found]
    assert p == sorted(p) and max(p) < 0.5
    for s in found:
        assert s["label"] == str(y_noisy[s["index"]]) and s["predicted"] == str(y[s["index"]])
    r = cli("cv", cfg, "--folds", "4", "--suspects", "3")
    assert r.exit_code == 0, r.stderr
    assert "suspect labels" in r.stdout and "no fold is chosen as the best" in r.stdout
    assert str(found[0]["index"]) in r.stdout


# ------------------------------------------------------------------------------ bad input


def _refused(cli, runs_dir: Path, *args: str) -> str:
    r = cli("cv", *args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not runs_dir.exists() or not any(runs_dir.rglob("*")), list(runs_dir.rglob("*"))
    return lines[0]


def test_bad_folds_are_refused_with_nothing_written(cli, runs_dir: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "moons.yaml", MOONS)
    assert "at least 2 folds" in _refused(cli, runs_dir, cfg, "--folds", "1")
    from nnctl.config import load_config
    from nnctl.data import load_dataset

    Y = load_dataset(*_data_args(load_config(cfg))).Y_train
    fewest = int(np.bincount(Y[0]).min())  # of 90 training examples, the smaller class's
    line = _refused(cli, runs_dir, cfg, "--folds", str(fewest + 1))
    assert f"has only {fewest} training examples" in line
    assert f"use at most --folds {fewest}, or --no-stratify" in line
    assert "only 90 training examples" in _refused(
        cli, runs_dir, cfg, "--folds", "91", "--no-stratify"
    )
    wrong = write_config(tmp_path / "wrong.yaml", MOONS.replace("[auto, 8, 1]", "[3, 8, 1]"))
    assert "layer_dims" in _refused(cli, runs_dir, wrong, "--folds", "3").split("wrong.yaml", 1)[1]


def test_streamed_and_regression_stratified_are_refused(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    import h5py

    with h5py.File(tmp_path / "p.h5", "w") as f:
        f["train_x"] = np.zeros((20, 2))
        f["train_y"] = np.arange(20) % 2
    cfg = write_config(
        tmp_path / "s.yaml",
        "dataset: {train: p.h5, stream: true}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nbatch_size: 4\niterations: 5\nlearning_rate: 0.1\n",
    )
    line = _refused(cli, runs_dir, cfg, "--folds", "2")  # (the test's own path says streamed)
    assert line.endswith(
        "s.yaml: the dataset is streamed from disk; nnctl cv needs the training data in "
        "memory (dataset.stream: false)"
    )
    sine = write_config(
        tmp_path / "sine.yaml",
        "dataset: {synthetic: sine, m: 40, seed: 1}\nlayer_dims: [auto, 4, 1]\n"
        "activations: [tanh, linear]\nloss: mean_squared_error\nlearning_rate: 0.1\n"
        "iterations: 5\n",
    )
    line = _refused(cli, runs_dir, sine, "--folds", "2", "--stratify")
    assert line.endswith("sine.yaml trains a regression network; use --no-stratify")


def test_regression_folds_are_unstratified_and_oof_the_runs_outputs(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    import nnctl
    from nnctl.config import load_config
    from nnctl.data import load_dataset

    cfg = write_config(
        tmp_path / "sine.yaml",
        "dataset: {synthetic: sine, m: 60, seed: 1}\nlayer_dims: [auto, 8, 1]\n"
        "activations: [tanh, linear]\nloss: mean_squared_error\nlearning_rate: 0.05\n"
        "iterations: 100\n",
    )
    out = _cv(cli, cfg, "--folds", "3")
    assert out["stratify"] is False and out["task"] == "regression"
    assert {"val_mse", "val_mae", "val_r2", "val_loss"} <= set(out["metrics"])
    children = [_summary(runs_dir, r["run_id"]) for r in out["runs"]]
    m = out["metrics"]["val_mse"]
    assert m["mean"] == pytest.approx(statistics.fmean(s["val_mse"] for s in children))
    with np.load(Path(out["cv_dir"]) / "oof.npz") as z:
        fold, output = z["fold"], z["output"]
    X = load_dataset(*_data_args(load_config(cfg))).X_train.T
    for f, r in enumerate(out["runs"]):
        mine = fold == f + 1
        got = nnctl.load_run(runs_dir / r["run_id"]).predict(X[mine])
        np.testing.assert_allclose(got.reshape(-1), output[0, mine], rtol=1e-12)


def test_diverged_folds_exit_1_and_are_left_out(cli, runs_dir: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "moons.yaml", MOONS)
    r = cli("cv", cfg, "--folds", "3", "--set", "learning_rate=1e12", "--json")
    assert r.exit_code == 1, r.stderr
    out = json.loads(r.stdout)
    assert [x["status"] for x in out["runs"]] == ["diverged"] * 3
    assert out["metrics"] == {}  # a diverged run records no validation score
    assert r.stderr.strip().splitlines()[-1].startswith("warning: 3 of 3 folds did not complete")
    with np.load(Path(out["cv_dir"]) / "oof.npz") as z:
        assert np.isnan(z["output"]).all()
    assert cli("cv", cfg, "--folds", "3", "--set", "learning_rate=1e12").exit_code == 1


def test_an_interrupted_cv_keeps_its_finished_folds_and_says_so(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nnctl.sweep.trial as trial

    real, calls = trial.run_trial, []

    def interrupted_at_fold_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trial, "run_trial", interrupted_at_fold_2)
    cfg = write_config(tmp_path / "moons.yaml", MOONS)
    r = cli("cv", cfg, "--folds", "3")
    assert r.exit_code == 130, r.stderr
    (cv_dir,) = (runs_dir / "cv").iterdir()
    record = json.loads((cv_dir / "cv.json").read_text())
    assert record["status"] == "interrupted" and len(record["runs"]) == 1
    done = _summary(runs_dir, record["runs"][0]["run_id"])
    assert done["status"] == "complete" and done["fold"] == 1
    assert record["metrics"]["val_accuracy"]["folds"] == [done["val_accuracy"]]
    with np.load(cv_dir / "oof.npz") as z:
        finite = np.isfinite(z["output"]).all(axis=0)
        assert np.array_equal(finite, z["fold"] == 1)
    assert sorted(p.name for p in runs_dir.iterdir()) == sorted(["cv", done["run_id"]])


def test_each_folds_steps_are_reported_and_the_live_bar_draws(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nnctl.cli.display
    from nnctl.config import load_config
    from nnctl.sweep.cv import run_cv

    cfg = write_config(tmp_path / "moons.yaml", MOONS)
    steps: list[tuple[int, int, int]] = []
    record, _ = run_cv(load_config(cfg), 2, runs_dir, on_step=lambda *a: steps.append(a))
    assert [s for s in steps if s[0] == 1] == [(1, i, 150) for i in range(150)]
    assert [s for s in steps if s[0] == 2] == [(2, i, 150) for i in range(150)]
    assert [r["status"] for r in record.runs] == ["complete", "complete"]

    monkeypatch.setattr(nnctl.cli.display, "animate", lambda console: True)
    r = cli("cv", cfg, "--folds", "2")
    assert r.exit_code == 0, r.stderr
    assert "fold 2/2: run " in r.stderr and "val_accuracy" in r.stdout


def test_the_trials_path_trains_class_weights_as_train_does(runs_dir: Path, tmp_path: Path) -> None:
    # cv's folds and sweep trials train through run_trial: the weights (here class_weight on
    # the moons) must enter the loss there exactly as nnctl train's (they were once left out)
    from nnctl.commands.train import train_run
    from nnctl.config import load_config
    from nnctl.data import load_dataset
    from nnctl.sweep.trial import run_trial

    plain = MOONS + "validation_fraction: 0.2\n"
    cfg = load_config(
        write_config(tmp_path / "w.yaml", plain + "class_weight: {lower: 4, upper: 1}\n")
    )
    trial = run_trial(cfg, load_dataset(*_data_args(cfg)), threads=1)
    outcome = train_run(cfg, runs_dir, threads=1)
    with np.load(outcome.run_dir / "params.npz") as z:
        trained = {k: z[k] for k in z.files}
    assert trial.params is not None and sorted(trial.params) == sorted(trained)
    for k, v in trained.items():
        assert np.array_equal(trial.params[k], v), k
    assert trial.summary.scores["val_loss"] == outcome.summary.scores["val_loss"]
    unweighted = run_trial(load_config(write_config(tmp_path / "u.yaml", plain)), None, threads=1)
    assert unweighted.params is not None
    assert not np.array_equal(unweighted.params["W1"], trial.params["W1"])


def test_a_fold_that_fails_after_others_are_written_exits_1_and_keeps_them(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as when a fold's Dask worker dies twice (engine.tasks raises RunError): the folds done
    # are runs already, so the exit is 1, not the 2 that promises nothing was written
    import nnctl.sweep.trial as trial
    from nnctl.system import RunError

    real, calls = trial.run_trial, []

    def fails_at_fold_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RunError("fold 2: its worker died 2 times; nothing more was tried")
        return real(*args, **kwargs)

    monkeypatch.setattr(trial, "run_trial", fails_at_fold_2)
    cfg = write_config(tmp_path / "moons.yaml", MOONS)
    r = cli("cv", cfg, "--folds", "3")
    assert r.exit_code == 1, r.stderr
    (cv_dir,) = (runs_dir / "cv").iterdir()
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: fold 2: its worker died 2 times; nothing more was tried (cv {cv_dir.name}: "
        "the folds done are kept)"
    )
    record = json.loads((cv_dir / "cv.json").read_text())
    assert record["status"] == "failed" and [x["fold"] for x in record["runs"]] == [1]
