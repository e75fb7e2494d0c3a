"""`nnctl evaluate`: scores against hand-computed counts, agreement with train's accuracy,
--data, --split, --json and --errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image

from helpers import CONFIGS, hand_forward, write_config
from nnctl.core import confusion_matrix, precision_recall_f1
from nnctl.data import load_dataset, read_h5
from nnctl.runs import load_run


def hand_scores(p: np.ndarray, y: np.ndarray) -> dict:
    pred = (p > 0.5).astype(int)
    tp = int(np.sum((pred == 1) & (y == 1)))
    tn = int(np.sum((pred == 0) & (y == 0)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {
        "n": len(y),
        "confusion_matrix": [[tn, fp], [fn, tp]],
        "accuracy": (tp + tn) / len(y),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "misclassified": np.flatnonzero(pred != y).tolist(),
    }


def evaluate_json(cli, *args) -> dict:
    r = cli("evaluate", *args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_moons_scores_match_a_hand_computed_confusion_matrix(cli, moons_run: Path) -> None:
    ds = load_dataset(load_run(moons_run).config.dataset)
    y = ds.Y_test[0]
    expected = hand_scores(hand_forward(moons_run, ds.X_test), y)
    got = evaluate_json(cli, str(moons_run))
    assert got["data"] == "test split (moons)"
    assert got["classes"] == ["upper", "lower"]
    for key in ("n", "confusion_matrix", "misclassified"):
        assert got[key] == expected[key], key
    for key in ("accuracy", "precision", "recall", "f1", "log_loss"):
        assert got[key] == pytest.approx(expected[key], rel=1e-12), key
    assert got["n"] == 50 and sum(map(sum, got["confusion_matrix"])) == 50


def test_accuracy_equals_trains_to_the_last_digit(cli, cat_run: Path, cat_dir: Path) -> None:
    summary = json.loads((cat_run / "summary.json").read_text())
    test = evaluate_json(cli, str(cat_run))
    train = evaluate_json(cli, str(cat_run), "--split", "train")
    assert (test["n"], train["n"]) == (50, 209)
    assert test["accuracy"] == summary["test_accuracy"]
    assert train["accuracy"] == summary["train_accuracy"]
    assert test["data"].startswith("test split (") and train["data"].startswith("train split (")
    r = cli("evaluate", str(cat_run))
    assert r.exit_code == 0 and r.stderr == ""
    assert f"{test['accuracy']:.6f}" in r.stdout
    rows = [
        [c.strip() for c in line.strip("│┃ ").split(c0)]
        for line in r.stdout.splitlines()
        for c0 in "│┃"
        if line.startswith(c0)
    ]
    (tn, fp), (fn, tp) = test["confusion_matrix"]
    assert ["true \\ predicted", "non-cat", "cat"] in rows
    assert ["non-cat", str(tn), str(fp)] in rows and ["cat", str(fn), str(tp)] in rows
    assert ["examples", "50"] in rows
    # the same file given with --data scores the same
    again = evaluate_json(cli, str(cat_run), "--data", cat_dir / "test_catvnoncat.h5")
    assert again["accuracy"] == summary["test_accuracy"]
    assert again["confusion_matrix"] == test["confusion_matrix"]


def test_data_found_through_the_recorded_path_from_anywhere(
    cli, runs_dir: Path, cat_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """The config names its data relatively (../data/ beside it); once that place is gone,
    evaluate falls back to the absolute path summary.json recorded, with a warning each."""
    (tmp_path / "proj" / "configs").mkdir(parents=True)
    (tmp_path / "proj" / "data").symlink_to(cat_dir, target_is_directory=True)
    config = tmp_path / "proj" / "configs" / "cat.yaml"
    config.write_text((CONFIGS / "cat_deep.yaml").read_text())
    monkeypatch.delenv("NNCTL_DATA_DIR")
    r = cli("train", config, "--set", "iterations=5", "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    summary = json.loads((run / "summary.json").read_text())
    (tmp_path / "proj" / "data").unlink()
    r = cli("evaluate", str(run), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == summary["test_accuracy"]
    recorded = {s["role"]: s["path"] for s in summary["dataset"]["sources"]}
    assert recorded["test"] == str((cat_dir / "test_catvnoncat.h5").resolve())
    named = yaml.safe_load((run / "config.yaml").read_text())["dataset"]
    assert r.stderr.strip().splitlines() == [
        f"warning: {named[role]} not found from here; using {recorded[role]}, "
        "recorded when the run trained"
        for role in ("train", "test")
    ]


def test_errors_dir_holds_each_misclassified_image(
    cli, cat_run: Path, cat_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "a_file").write_text("")
    r = cli("evaluate", str(cat_run), "--errors", tmp_path / "a_file")
    assert r.exit_code == 2 and r.stdout == ""  # refused before evaluating
    assert (
        r.stderr.strip() == f"error: {tmp_path / 'a_file'}: exists and is not a directory "
        "(--errors needs a directory)"
    )
    out = tmp_path / "wrong"
    r = cli("evaluate", str(cat_run), "--errors", out, "--json")
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    raw = read_h5(cat_dir / "test_catvnoncat.h5")
    classes = ["non-cat", "cat"]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == len(ev["misclassified"]) > 0
    assert f"wrote {len(files)} misclassified image(s) to {out}" in r.stderr
    for i, name in zip(ev["misclassified"], files):
        true = classes[int(raw.y.reshape(-1)[i])]
        pred = classes[1 - int(raw.y.reshape(-1)[i])]
        assert name == f"{i:04d}_true-{true}_pred-{pred}.png"
        np.testing.assert_array_equal(np.asarray(Image.open(out / name)), raw.x[i])


def _points_h5(path: Path, X: np.ndarray, y: np.ndarray, classes=(b"upper", b"lower")) -> Path:
    with h5py.File(path, "w") as f:
        f["pts_x"] = X
        f["pts_y"] = y
        f["list_classes"] = np.array(classes)
    return path


def test_data_file_is_evaluated_instead(cli, moons_run: Path, tmp_path: Path) -> None:
    X = np.array([[0.0, 1.0], [1.0, -0.5], [2.0, 0.3], [-1.0, 0.2], [0.5, 0.8], [1.5, -0.4]])
    y = np.array([0, 1, 1, 0, 0, 1])
    f = _points_h5(tmp_path / "points.h5", X, y)
    got = evaluate_json(cli, str(moons_run), "--data", f)
    expected = hand_scores(hand_forward(moons_run, X.T), y)
    assert got["data"] == str(f.resolve())
    assert got["confusion_matrix"] == expected["confusion_matrix"]
    assert got["accuracy"] == pytest.approx(expected["accuracy"], rel=1e-12)


def _one_error_line(r) -> str:
    assert r.exit_code == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_usage_errors(cli, moons_run: Path, tmp_path: Path) -> None:
    f = _points_h5(tmp_path / "points.h5", np.zeros((3, 2)), np.array([0, 1, 0]))
    line = _one_error_line(cli("evaluate", str(moons_run), "--data", f, "--split", "test"))
    assert "--split" in line and "--data" in line
    line = _one_error_line(cli("evaluate", str(moons_run), "--split", "validation"))
    assert "'validation'" in line and "train, val, test" in line
    wide = _points_h5(tmp_path / "wide.h5", np.zeros((3, 5)), np.array([0, 1, 0]))
    line = _one_error_line(cli("evaluate", str(moons_run), "--data", wide))
    assert f"{wide}: examples have shape [5], but the run was trained on [2]" in line
    other = _points_h5(tmp_path / "other.h5", np.zeros((3, 2)), np.array([0, 1, 0]), (b"a", b"b"))
    line = _one_error_line(cli("evaluate", str(moons_run), "--data", other))
    assert "classes ['a', 'b'] differ from the run's ['upper', 'lower']" in line
    line = _one_error_line(cli("evaluate", str(moons_run), "--data", tmp_path / "nope.h5"))
    assert "nope.h5: data file not found" in line
    line = _one_error_line(cli("evaluate", str(moons_run), "--errors", tmp_path / "out"))
    assert "--errors" in line and "feature vectors" in line
    assert not (tmp_path / "out").exists()


def test_split_test_without_a_test_set(cli, runs_dir: Path, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "all.yaml",
        """\
dataset: {synthetic: circles, m: 60, test_fraction: 0, seed: 2}
layer_dims: [auto, 4, 1]
activations: [tanh, sigmoid]
learning_rate: 0.5
iterations: 50
""",
    )
    r = cli("train", cfg, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    run = json.loads(r.stdout)
    ev = evaluate_json(cli, run["run_id"])
    assert ev["data"] == "train split (circles)" and ev["n"] == 60
    assert ev["accuracy"] == run["train_accuracy"]
    line = _one_error_line(cli("evaluate", run["run_id"], "--split", "test"))
    assert "has no test set" in line and "--split train" in line


def test_confusion_matrix_and_scores_by_hand() -> None:
    labels = np.array([[1, 1, 0, 0, 1, 0]])
    Y = np.array([[1, 0, 0, 1, 1, 0]])
    cm = confusion_matrix(labels, Y, 2)
    assert cm.tolist() == [[2, 1], [1, 2]]  # rows true, columns predicted
    s = precision_recall_f1(cm)
    assert s == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    # no positive predictions: precision is undefined, not 0
    s = precision_recall_f1(confusion_matrix(np.zeros((1, 4), int), np.array([[0, 1, 1, 0]]), 2))
    assert s["precision"] is None and s["recall"] == 0.0 and s["f1"] == 0.0
    # three classes: macro average over classes
    cm3 = confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]), 3)
    assert cm3.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    s = precision_recall_f1(cm3)
    assert s["precision"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert s["recall"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_changed_data_file_is_noted() -> None:
    from types import SimpleNamespace

    from nnctl.commands.evaluate.data import _changed_sources
    from nnctl.runs import RunSummary

    run = SimpleNamespace(
        summary=RunSummary(
            dataset={
                "sources": [
                    {"role": "train", "path": "/d/train.h5", "sha256": "aa"},
                    {"role": "test", "path": "/d/test.h5", "sha256": "bb"},
                ]
            }
        )
    )
    ds = SimpleNamespace(
        sources=[
            {"role": "train", "path": "/d/train.h5", "sha256": "aa"},
            {"role": "test", "path": "/d/test.h5", "sha256": "cc"},
        ]
    )
    notes = _changed_sources(run, ds)
    assert notes == [
        "/d/test.h5: differs from the test file the run was trained on (sha256 changed); "
        "scores may not match the run's summary"
    ]


def test_evaluate_and_predict_choose_their_blas_threads(
    cli, moons_run: Path, tmp_path: Path, monkeypatch
) -> None:
    # as training does (nnctl.system.threads): a small product gets one thread, --threads N gets
    # N; a busy machine's spinning OpenBLAS threads no longer slow a plain `nnctl evaluate` down
    import nnctl.system.threads as blas

    used = []
    real = blas.blas_threads

    def recording(n):
        used.append(n)
        return real(n)

    monkeypatch.setattr(blas, "blas_threads", recording)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    run = moons_run.name
    default = json.loads(cli("evaluate", run, "--json").stdout)
    two = json.loads(cli("evaluate", run, "--json", "--threads", "2").stdout)
    assert used == [1, 2]
    assert two["accuracy"] == default["accuracy"]
    np.save(tmp_path / "rows.npy", np.array([[0.5, 0.2], [1.5, -0.4]]))
    r = cli("predict", run, str(tmp_path / "rows.npy"), "--json", "--threads", "3")
    assert r.exit_code == 0, r.stderr
    assert used == [1, 2, 3]
    r = cli("evaluate", run, "--threads", "0")
    assert r.exit_code == 2 and "--threads" in r.stderr
