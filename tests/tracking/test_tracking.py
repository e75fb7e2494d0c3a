"""Tracking (docs/guides/tracking.md): runs written to a real MLflow store (sqlite in tmp_path)
and read back with MLflow's own client, TensorBoard events read with TensorBoard's own event
reader, a tracker that cannot reach its store costing one warning and nothing else, runs
brought in afterwards (runs track), a sweep as a parent run, and the missing extras."""

from __future__ import annotations

import csv
import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config
from helpers.proc import nnctl

pytest.importorskip("mlflow", reason="the mlflow extra (pip install 'nnctl[mlflow]')")
pytest.importorskip(
    "tensorboard", reason="the tensorboard extra (pip install 'nnctl[tensorboard]')"
)

from mlflow import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

# mini-batches (3 per epoch), a validation set, a learning-rate schedule: every curve there is
CONFIG = """\
dataset: {synthetic: moons, m: 240, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.1
lr_schedule: {name: step, step_size: 4, gamma: 0.5}
batch_size: 60
epochs: 10
validation_fraction: 0.2
optimizer: adam
print_every: 4
"""


def _history(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def _experiment_runs(uri: str, experiment: str = "nnctl") -> list:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment} in {uri}"
    return client.search_runs([exp.experiment_id])


def _events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


@pytest.fixture
def tracked(cli, runs_dir: Path, tmp_path: Path) -> dict:
    """One training tracked to both (histograms every 2 epochs, with its report), and the same
    config trained untracked beside it."""
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    plain = cli("train", cfg, "--quiet", "--json")
    assert plain.exit_code == 0, plain.stderr
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    r = cli(
        "train", cfg, "--json", "--report",
        "--track", f"mlflow={uri}", "--track", f"tensorboard={tmp_path / 'tb'}",
        "--set", "tracking.histograms_every=2",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    return {
        "run_dir": Path(out["run_dir"]),
        "run_id": out["run_id"],
        "plain": Path(json.loads(plain.stdout)["run_dir"]),
        "uri": uri,
        "tb": tmp_path / "tb",
        "stderr": r.stderr,
    }


def test_a_tracked_run_is_one_mlflow_run_with_its_params_curves_scores_and_tags(tracked) -> None:
    run_dir, uri = tracked["run_dir"], tracked["uri"]
    assert "warning" not in tracked["stderr"]
    # MLflow was told before its import: no usage telemetry
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and os.environ["DO_NOT_TRACK"] == "true"
    assert "tracked: MLflow run" in tracked["stderr"]
    [run] = _experiment_runs(uri)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.info.run_name == tracked["run_id"] and run.info.status == "FINISHED"
    # the flattened config, every key
    expected = {k: "null" if v is None else str(v) for k, v in summary["config"].items()}
    assert run.data.params == expected
    assert run.data.params["learning_rate"] == "0.1" and run.data.params["batch_size"] == "60"
    # the cost at every print_every-th iteration and the last, with the iteration as step
    client = MlflowClient(uri)
    rows = _history(run_dir)
    cost = client.get_metric_history(run.info.run_id, "cost")
    assert [m.step for m in cost] == [*range(0, 30, 4), 29]
    assert [m.value for m in cost] == [float(rows[m.step]["cost"]) for m in cost]
    # each epoch's validation loss at its epoch's last iteration (3 steps per epoch)
    val = client.get_metric_history(run.info.run_id, "val_loss")
    val_rows = [(int(r["iteration"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    assert [(m.step, m.value) for m in val] == val_rows
    assert [m.step for m in val] == [3 * e - 1 for e in range(1, 11)]
    rate = client.get_metric_history(run.info.run_id, "learning_rate")
    assert {(m.step, m.value) for m in rate} == {
        (m.step, float(rows[m.step]["learning_rate"])) for m in cost
    }
    # the final scores, as the summary records them
    metrics = run.data.metrics
    assert metrics["final/test_accuracy"] == summary["test_accuracy"]
    assert metrics["final/train_accuracy"] == summary["train_accuracy"]
    assert metrics["final/cost"] == summary["final_cost"]
    tags = run.data.tags
    assert tags["nnctl.run_id"] == tracked["run_id"] and tags["nnctl.status"] == "complete"
    assert tags["numpy.version"] == np.__version__ and tags["cpu"] == summary["cpu"]
    assert tags["blas"].startswith(summary["blas"][0]["internal_api"])
    # the generator's settings (role train+test, as MLflow's stores take a name)
    assert "synthetic=moons" in tags["data.train_test"] and "seed=1" in tags["data.train_test"]
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "summary.json", "params.npz", "report.html"} <= names
    logged = Path(client.download_artifacts(run.info.run_id, "params.npz", str(run_dir.parent)))
    assert logged.read_bytes() == (run_dir / "params.npz").read_bytes()


def test_the_logged_pyfunc_model_predicts_what_nnctl_predict_does(
    tracked, cli, tmp_path: Path
) -> None:
    import mlflow

    rows = np.random.default_rng(3).normal(size=(25, 2))
    np.save(tmp_path / "rows.npy", rows)
    r = cli("predict", tracked["run_dir"], tmp_path / "rows.npy", "--json")
    assert r.exit_code == 0, r.stderr
    expected = json.loads(r.stdout)
    mlflow.set_tracking_uri(tracked["uri"])
    try:
        [run] = _experiment_runs(tracked["uri"])
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    finally:
        mlflow.set_tracking_uri("")
    got = model.predict(rows)
    assert len(got) == 25
    assert got["label"].tolist() == [e["label"] for e in expected]
    assert got["class"].tolist() == [e["class"] for e in expected]
    # the same forward pass on the same machine: the same bits
    assert got["probability"].tolist() == [e["probability"] for e in expected]
    assert got["error"].isna().all()
    # a DataFrame of rows (as `mlflow models predict` sends) gives the same
    import pandas as pd

    frame = model.predict(pd.DataFrame(rows, columns=["x1", "x2"]))
    assert frame["probability"].tolist() == got["probability"].tolist()


def test_tensorboard_reads_the_scalars_text_and_histograms(tracked) -> None:
    run_dir = tracked["run_dir"]
    acc = _events(tracked["tb"] / tracked["run_id"])
    rows = _history(run_dir)
    cost = acc.Scalars("cost")
    assert [e.step for e in cost] == [*range(0, 30, 4), 29]
    # event files hold 32-bit floats
    assert [e.value for e in cost] == [
        pytest.approx(float(rows[e.step]["cost"]), rel=1e-6) for e in cost
    ]
    assert [e.step for e in acc.Scalars("val_loss")] == [3 * e - 1 for e in range(1, 11)]
    summary = json.loads((run_dir / "summary.json").read_text())
    [final] = acc.Scalars("final/test_accuracy")
    assert final.value == pytest.approx(summary["test_accuracy"], rel=1e-6)
    layers = acc.Tensors("layers")[0].tensor_proto.string_val[0].decode()
    assert "| 1 | 8 | relu | 24 |" in layers and "| 2 | 1 | sigmoid | 9 |" in layers
    config = acc.Tensors("config")[0].tensor_proto.string_val[0].decode()
    assert "    learning_rate: 0.1" in config
    # every 2nd epoch (epochs 2, 4, ..., 10), at the epoch's last iteration
    hist = acc.Histograms("weights/W1")
    assert [h.step for h in hist] == [5, 11, 17, 23, 29]
    params = np.load(run_dir / "params.npz")
    last = hist[-1].histogram_value  # after the last epoch: the run's final weights
    W1 = params["W1"]
    assert (last.num, last.min, last.max) == (W1.size, W1.min(), W1.max())
    assert last.sum == pytest.approx(W1.sum(), rel=1e-12)
    grads = acc.Histograms("gradients/dW1")
    assert [h.step for h in grads] == [5, 11, 17, 23, 29]
    assert grads[-1].histogram_value.num == W1.size
    assert acc.Histograms("gradients/db2")[-1].histogram_value.num == 1


def test_tracking_does_not_change_the_training(tracked) -> None:
    """The histograms' gradients and weights are read beside the training, never in it."""
    a = np.load(tracked["run_dir"] / "params.npz")
    b = np.load(tracked["plain"] / "params.npz")
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert (tracked["run_dir"] / "history.csv").read_text() == (
        tracked["plain"] / "history.csv"
    ).read_text()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_costs_one_warning_and_nothing_else(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    url = f"http://127.0.0.1:{_closed_port()}"
    # a subprocess with a timeout: MLflow gives up at once (no retries), not after minutes
    r = nnctl("train", cfg, "--track", f"mlflow={url}", runs_dir=runs, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    run_id = r.stdout.strip()
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert f"MLflow ({url})" in warnings[0]
    assert f"nnctl runs track {run_id} --mlflow {url}" in warnings[0]
    assert "Traceback" not in r.stderr
    summary = json.loads((runs / run_id / "summary.json").read_text())
    assert summary["status"] == "complete"
    assert sorted(p.name for p in runs.iterdir()) == [run_id]  # no store, no stray files


def test_runs_track_backfills_a_finished_run_and_replaces_it_when_run_again(
    cli, moons_run: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'later.db'}"
    board = tmp_path / "board"
    r = cli("runs", "track", moons_run.name, "--mlflow", uri, "--tensorboard", board)
    assert r.exit_code == 0, r.stderr
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    assert [(run, tracker) for run, tracker, _ in lines] == [
        (moons_run.name, "mlflow"),
        (moons_run.name, "tensorboard"),
    ]
    [run] = _experiment_runs(uri)
    assert run.info.run_id == lines[0][2] and run.info.run_name == moons_run.name
    rows = _history(moons_run)
    cost = MlflowClient(uri).get_metric_history(run.info.run_id, "cost")
    assert cost[-1].step == len(rows) - 1 and cost[-1].value == float(rows[-1]["cost"])
    assert _events(board / moons_run.name).Scalars("cost")[-1].step == len(rows) - 1
    # again: the store and the folder hold the run once, as it is now
    r = cli("runs", "track", "latest", "--mlflow", uri, "--tensorboard", board)
    assert r.exit_code == 0, r.stderr
    [again] = _experiment_runs(uri)
    assert again.info.run_id != run.info.run_id and again.info.run_name == moons_run.name
    assert len(list((board / moons_run.name).glob("events.out.tfevents.*"))) == 1
    # a file: store (MLflow keeps it in maintenance mode; nnctl still writes one when named)
    files = f"file:{tmp_path / 'filestore'}"
    r = cli("runs", "track", moons_run.name, "--mlflow", files)
    assert r.exit_code == 0, r.stderr
    [in_files] = _experiment_runs(files)
    assert in_files.data.tags["nnctl.run_id"] == moons_run.name
    assert in_files.data.metrics["cost"] == float(rows[-1]["cost"])


def test_runs_track_refuses_without_a_tracker_and_names_a_missing_run(cli, moons_run) -> None:
    r = cli("runs", "track", moons_run.name)
    assert r.exit_code == 2 and "needs --mlflow URI or --tensorboard DIR" in r.stderr
    r = cli("runs", "track", "nosuchrun", "--tensorboard", "tb")
    assert r.exit_code == 2 and "nosuchrun" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_a_sweep_is_a_parent_run_with_its_trials_nested(tmp_path: Path) -> None:
    from helpers.sweeps import sweep_file

    runs = tmp_path / "runs"
    f = sweep_file(
        tmp_path,
        "metric: val_loss\nsampler: grid\nspace:\n  learning_rate: {choice: [0.01, 0.1]}\n",
    )
    r = nnctl(
        "sweep", "run", f, "--workers", "1", "--json", "--track", "mlflow", "--track",
        "tensorboard", runs_dir=runs, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    trial_runs = {t["run_id"] for t in out["trials"]}
    assert len(trial_runs) == 2
    uri = f"sqlite:///{runs / 'mlflow' / 'mlflow.db'}"  # the default store, in the runs folder
    found = _experiment_runs(uri)
    [parent] = [run for run in found if run.info.run_name == out["sweep_id"]]
    children = [run for run in found if run is not parent]
    assert {c.info.run_name for c in children} == trial_runs
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    assert parent.data.params["metric"] == "val_loss" and parent.data.params["sampler"] == "grid"
    assert parent.data.metrics["best/val_loss"] == pytest.approx(out["best_value"])
    for run_id in trial_runs:
        acc = _events(runs / "tensorboard" / out["sweep_id"] / run_id)
        assert acc.Scalars("cost") and acc.Scalars("val_loss")


@pytest.mark.parametrize("tracker, flag", [("mlflow", "mlflow"), ("tensorboard", "tensorboard")])
def test_a_missing_extra_is_one_line_and_exit_2_before_training(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracker: str, flag: str
) -> None:
    monkeypatch.setitem(sys.modules, tracker, None)  # as if not installed: import fails
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    r = cli("train", cfg, "--track", flag)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'nnctl[{tracker}]'" in lines[0], r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # nothing trained


def test_bad_tracking_settings_are_one_line_each(cli, runs_dir: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "moons.yaml", CONFIG + "tracking: {mlfow: true}\n")
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert "tracking: unknown key 'mlfow' (did you mean mlflow?)" in r.stderr
    cfg = write_config(tmp_path / "moons.yaml", CONFIG + "tracking: {mlflow: 'postgres://db'}\n")
    r = cli("train", cfg)
    assert r.exit_code == 2 and "tracking: mlflow: expected true or a tracking URI" in r.stderr
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    r = cli("train", cfg, "--track", "mlflw")
    assert r.exit_code == 2 and "unknown tracker (did you mean mlflow?)" in r.stderr
    r = cli("train", cfg, "--set", "tracking.histograms_every=0")
    assert r.exit_code == 2 and "tracking: histograms_every" in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_auto_histograms_are_about_twenty_a_run(cli, runs_dir: Path, tmp_path: Path) -> None:
    """histograms_every: auto (the default): 100 full-batch epochs -> every 5th."""
    cfg = write_config(
        tmp_path / "moons.yaml",
        CONFIG.replace("batch_size: 60\nepochs: 10\n", "iterations: 100\n").replace(
            "lr_schedule: {name: step, step_size: 4, gamma: 0.5}\n", ""
        ),
    )
    r = cli("train", cfg, "--quiet", "--track", f"tensorboard={tmp_path / 'tb'}")
    assert r.exit_code == 0, r.stderr
    run_id = r.stdout.strip()
    acc = _events(tmp_path / "tb" / run_id)
    assert [h.step for h in acc.Histograms("weights/W2")] == list(range(4, 100, 5))
    assert len(acc.Histograms("gradients/dW1")) == 20


def test_a_run_trained_further_is_tracked_again_as_it_is_now(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    """--resume --more with --track: the scalars rewritten to the longer run, the histograms of
    both segments kept."""
    board = tmp_path / "tb"
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    track = ("--track", f"tensorboard={board}", "--set", "tracking.histograms_every=5")
    r = cli("train", cfg, "--quiet", *track)
    assert r.exit_code == 0, r.stderr
    run_id = r.stdout.strip()
    r = cli(
        "train", "--resume", run_id, "--more", "5", "--quiet", "--track", f"tensorboard={board}"
    )
    assert r.exit_code == 0, r.stderr
    folder = board / run_id
    assert len(list(folder.glob("*.nnctl"))) == 1 and len(list(folder.glob("*.histograms"))) == 2
    acc = _events(folder)
    assert acc.Scalars("cost")[-1].step == 44  # 15 epochs of 3 steps
    assert [e.step for e in acc.Scalars("val_loss")] == [3 * e - 1 for e in range(1, 16)]
    # the first segment every 5 epochs (its key), the resumed one with the run's saved config
    assert [h.step for h in acc.Histograms("weights/W1")] == [14, 29, 44]


def test_the_python_api_tracks_too_and_warns_instead_of_failing(tmp_path: Path) -> None:
    """nnctl.train honours the config's tracking key and track=[...], as the CLI does; a
    tracker that fails is an NnctlWarning and the run is returned."""
    import nnctl

    url = f"http://127.0.0.1:{_closed_port()}"
    cfg = write_config(tmp_path / "moons.yaml", CONFIG + f"tracking: {{mlflow: '{url}'}}\n")
    with pytest.warns(nnctl.NnctlWarning) as caught:
        run = nnctl.train(cfg, runs_dir=tmp_path / "runs", track=[f"tensorboard={tmp_path / 'tb'}"])
    lines = [str(w.message) for w in caught]
    assert len(lines) == 1 and f"MLflow ({url})" in lines[0] and "runs track" in lines[0]
    assert run.summary.status == "complete"
    assert _events(tmp_path / "tb" / run.id).Scalars("cost")[-1].step == 29


def test_an_image_run_has_its_data_hashes_and_its_pyfunc_takes_images(
    cli, cat_run: Path, cat_dir: Path, tmp_path: Path
) -> None:
    """The course's cat run brought in: each data file's sha256 as a tag, and the pyfunc model
    predicting 8-bit images (the test file's, as stored) as nnctl predict does."""
    import h5py
    import mlflow

    uri = f"sqlite:///{tmp_path / 'cats.db'}"
    r = cli("runs", "track", cat_run.name, "--mlflow", uri)
    assert r.exit_code == 0, r.stderr
    [run] = _experiment_runs(uri)
    summary = json.loads((cat_run / "summary.json").read_text())
    sources = summary["dataset"]["sources"]
    assert sources and all(s.get("sha256") for s in sources)
    for s in sources:
        assert run.data.tags[f"data.{s['role']}.sha256"] == s["sha256"]
    test_file = cat_dir / "test_catvnoncat.h5"
    r = cli("predict", cat_run, test_file, "--json")
    assert r.exit_code == 0, r.stderr
    expected = json.loads(r.stdout)
    with h5py.File(test_file) as f:
        images = f["test_set_x"][:]
    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    finally:
        mlflow.set_tracking_uri("")
    got = model.predict(images)
    assert len(expected) == len(got) == 50
    assert got["probability"].tolist() == [e["probability"] for e in expected]
    assert got["class"].tolist() == [e["class"] for e in expected]
    # rows of pixels (a CSV's or a DataFrame's) are the same images
    flat = model.predict(images.reshape(50, -1))
    assert flat["probability"].tolist() == got["probability"].tolist()


def test_an_unwritable_log_folder_costs_one_warning(cli, runs_dir: Path, tmp_path: Path) -> None:
    """TensorBoard pointed where no folder can be made (a regular file is in the way, as a
    full or read-only disk would refuse): the histograms and the scalars both fail, one line."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("in the way\n")
    cfg = write_config(tmp_path / "moons.yaml", CONFIG)
    r = cli("train", cfg, "--quiet", "--track", f"tensorboard={blocked}")
    assert r.exit_code == 0, r.stderr
    run_id = r.stdout.strip()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: tracking: TensorBoard"), r.stderr
    assert f"nnctl runs track {run_id} --tensorboard {blocked}" in lines[0]
    assert json.loads((runs_dir / run_id / "summary.json").read_text())["status"] == "complete"
    assert blocked.read_text() == "in the way\n"


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["runs", "track", "--help"]])
def test_help_imports_no_tracker(args: list[str], tmp_path: Path) -> None:
    """The trackers are imported when a run is tracked, not when nnctl starts."""
    import subprocess

    code = (
        f"import sys; sys.argv = ['nnctl', *{args!r}]; from nnctl.cli import main\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('mlflow', 'tensorboard', 'nnctl.tracking')"
        " if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "--track" in out.stdout or "track" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"
