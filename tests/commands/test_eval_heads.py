"""`nnctl predict` and `nnctl evaluate` on softmax (spiral) and regression (sine) runs: outputs
against a forward pass written out here, scores against hand counts and numpy formulas, train's
summary numbers reproduced exactly, and the runs tables showing regression metrics."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import CONFIGS, write_config
from nnctl.config import load_config
from nnctl.core import Architecture, predict_proba
from nnctl.data import load_dataset
from nnctl.runs import load_run, load_run_config
from nnctl.training import bind

HIDDEN = {"relu": lambda Z: np.maximum(0, Z), "tanh": np.tanh}


def hand_forward(run: Path, X: np.ndarray) -> np.ndarray:
    """The run's network written out with numpy (not nnctl's model). X: (n_x, m) -> (n_L, m)."""
    summary = json.loads((run / "summary.json").read_text())
    acts = summary["activations"]
    with np.load(run / "params.npz") as z:
        p = {k: z[k] for k in z.files}
    A = X
    for l, act in enumerate(acts, start=1):
        Z = p[f"W{l}"] @ A + p[f"b{l}"]
        if act == "softmax":
            E = np.exp(Z - Z.max(axis=0))
            A = E / E.sum(axis=0)
        elif act == "linear":
            A = Z
        else:
            A = HIDDEN[act](Z)
    return A


def train_json(cli, *args: str) -> tuple[Path, dict]:
    r = cli("train", *args, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    return run, json.loads((run / "summary.json").read_text())


@pytest.fixture
def spiral_run(cli, runs_dir: Path) -> Path:
    return train_json(cli, str(CONFIGS / "spiral.yaml"), "--set", "epochs=40")[0]


@pytest.fixture
def sine_run(cli, runs_dir: Path) -> Path:
    return train_json(cli, str(CONFIGS / "sine.yaml"), "--set", "epochs=60")[0]


def run_json(cli, *args: str) -> dict | list:
    r = cli(*args, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def test_predict_softmax_gives_the_argmax_class_and_its_probability(
    cli, spiral_run: Path, tmp_path: Path
) -> None:
    X = np.array([[0.1, 0.2], [-0.5, 0.3], [0.9, -0.9], [0.0, 0.0]])
    (tmp_path / "p.csv").write_text(
        "x1,x2\n" + "\n".join(f"{a!r},{b!r}" for a, b in X.tolist()) + "\n"
    )
    np.save(tmp_path / "p.npy", X[:2])
    out = run_json(cli, "predict", str(spiral_run), "p.csv", "p.npy")
    P = hand_forward(spiral_run, np.vstack([X, X[:2]]).T)  # (3, 6)
    run = load_run(spiral_run)
    np.testing.assert_array_equal(
        P.round(12),
        predict_proba(
            run.params,
            np.vstack([X, X[:2]]).T,
            Architecture.build(run.config.activations, run.config.loss),
        ).round(12),
    )
    classes = ["arm0", "arm1", "arm2"]
    assert [o["input"] for o in out] == [f"p.csv[{i}]" for i in range(4)] + ["p.npy[0]", "p.npy[1]"]
    assert [o["label"] for o in out] == P.argmax(axis=0).tolist()
    assert [o["class"] for o in out] == [classes[k] for k in P.argmax(axis=0)]
    for j, o in enumerate(out):
        assert o["probability"] == pytest.approx(P.max(axis=0)[j], rel=1e-12)
        assert list(o["probabilities"]) == classes
        assert [o["probabilities"][c] for c in classes] == pytest.approx(
            P[:, j].tolist(), rel=1e-12
        )
        assert sum(o["probabilities"].values()) == pytest.approx(1.0)
    # more than one class is predicted, so the argmax really is per example
    assert len({o["label"] for o in out}) > 1
    r = cli("predict", str(spiral_run), "p.npy")
    assert r.exit_code == 0
    header = r.stdout.splitlines()[2]
    assert "class" in header and "probability" in header
    assert classes[P[:, 4].argmax()] in r.stdout and f"{P[:, 4].max():.6f}" in r.stdout


def test_predict_regression_gives_the_networks_values(cli, sine_run: Path, tmp_path: Path) -> None:
    x = np.array([[-2.0], [0.0], [1.5], [3.0]])
    np.save(tmp_path / "x.npy", x)
    out = run_json(cli, "predict", str(sine_run), "x.npy")
    want = hand_forward(sine_run, x.T)[0]
    assert [o["value"] for o in out] == pytest.approx(want.tolist(), rel=1e-12, abs=1e-12)
    assert all(o["class"] is None and o["probability"] is None and o["label"] is None for o in out)
    # a trained sine fit is near sin(x) inside the training range (noise sd 0.1)
    assert [o["value"] for o in out][1:3] == pytest.approx(np.sin([0.0, 1.5]).tolist(), abs=0.2)
    r = cli("predict", str(sine_run), "x.npy")
    assert r.exit_code == 0
    assert "value" in r.stdout and "probability" not in r.stdout
    assert f"{want[2]:.6g}" in r.stdout
    r = cli("predict", str(sine_run), "x.npy", "--threshold", "0.3")
    assert r.exit_code == 2 and r.stdout == ""
    assert (
        "--threshold applies to binary classifiers; this run's loss is mean_squared_error"
        in r.stderr
    )


def hand_class_scores(P: np.ndarray, y: np.ndarray, K: int) -> dict:
    pred = P.argmax(axis=0)
    cm = [[int(np.sum((y == i) & (pred == j))) for j in range(K)] for i in range(K)]
    per = {}
    for k in range(K):
        tp = cm[k][k]
        predicted = sum(cm[i][k] for i in range(K))
        actual = sum(cm[k])
        p = tp / predicted if predicted else None
        r = tp / actual if actual else None
        per[k] = {
            "precision": p,
            "recall": r,
            "f1": (2 * p * r / (p + r)) if p and r else 0.0,
            "support": actual,
        }
    return {
        "confusion_matrix": cm,
        "per_class": per,
        "accuracy": float(np.mean(pred == y)),
        "log_loss": float(-np.mean(np.log(P[y, np.arange(y.size)]))),
        "misclassified": np.flatnonzero(pred != y).tolist(),
    }


def test_evaluate_softmax_per_class_scores_by_hand_and_trains_accuracies(
    cli, spiral_run: Path
) -> None:
    summary = json.loads((spiral_run / "summary.json").read_text())
    cfg = load_run(spiral_run).config
    ds = load_dataset(cfg.dataset)
    y = ds.Y_test[0]
    expected = hand_class_scores(hand_forward(spiral_run, ds.X_test), y, 3)
    got = run_json(cli, "evaluate", str(spiral_run))
    classes = ["arm0", "arm1", "arm2"]
    assert got["classes"] == classes and got["n"] == 120 and got["threshold"] is None
    assert got["task"] == "classification"
    assert got["confusion_matrix"] == expected["confusion_matrix"]
    assert got["misclassified"] == expected["misclassified"]
    assert got["log_loss"] == pytest.approx(expected["log_loss"], rel=1e-10)
    assert got["accuracy"] == summary["test_accuracy"]  # to the last digit
    assert got["accuracy"] == pytest.approx(expected["accuracy"], rel=1e-15)
    for k, c in enumerate(classes):
        for key in ("precision", "recall", "f1"):
            assert got["per_class"][c][key] == pytest.approx(
                expected["per_class"][k][key], rel=1e-12
            ), (c, key)
        assert got["per_class"][c]["support"] == expected["per_class"][k]["support"]
    for key in ("precision", "recall", "f1"):
        assert got[key] == pytest.approx(
            np.mean([expected["per_class"][k][key] for k in range(3)]), rel=1e-12
        )
    # train and validation: the same seeded hold-out as training, so train's numbers again
    train = run_json(cli, "evaluate", str(spiral_run), "--split", "train")
    val = run_json(cli, "evaluate", str(spiral_run), "--split", "val")
    assert (train["n"], val["n"]) == (384, 96)
    assert train["accuracy"] == summary["train_accuracy"]
    assert val["accuracy"] == summary["val_accuracy"]
    assert val["log_loss"] == pytest.approx(summary["val_loss"], rel=1e-12)
    assert val["data"] == "val split (spiral, held out of the training set)"
    bound = bind(load_config(spiral_run / "config.yaml")).dataset
    assert (
        train["confusion_matrix"]
        == hand_class_scores(hand_forward(spiral_run, bound.X_train), bound.Y_train[0], 3)[
            "confusion_matrix"
        ]
    )
    # the table: per-class rows and the 3x3 confusion matrix with class names
    r = cli("evaluate", str(spiral_run))
    assert r.exit_code == 0 and r.stderr == ""
    assert "precision (macro average)" in r.stdout and "per class" in r.stdout
    row = next(
        line for line in r.stdout.splitlines() if line.startswith("│ arm2 ") and "│" in line[8:]
    )
    assert f"{expected['per_class'][2]['support']}" in row
    cm_row = [line for line in r.stdout.splitlines() if line.startswith("│ arm1")][-1]
    assert [int(v) for v in cm_row.strip("│ ").split("│")[1:]] == expected["confusion_matrix"][1]


def test_evaluate_regression_against_numpy_formulas(cli, sine_run: Path) -> None:
    summary = json.loads((sine_run / "summary.json").read_text())
    ds = load_dataset(load_run(sine_run).config.dataset)
    yhat, y = hand_forward(sine_run, ds.X_test)[0], ds.Y_test[0]
    got = run_json(cli, "evaluate", str(sine_run))
    assert got["task"] == "regression" and got["n"] == 100 and got["n_outputs"] == 1
    assert "confusion_matrix" not in got and "accuracy" not in got
    assert got["mse"] == pytest.approx(np.mean((yhat - y) ** 2), rel=1e-10)
    assert got["mae"] == pytest.approx(np.mean(np.abs(yhat - y)), rel=1e-10)
    assert got["r2"] == pytest.approx(
        1 - np.sum((y - yhat) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-10
    )
    assert (got["mse"], got["r2"]) == (
        summary["test_mse"],
        summary["test_r2"],
    )  # train's numbers exactly
    assert got["per_output"] == []
    train = run_json(cli, "evaluate", str(sine_run), "--split", "train")
    assert (train["n"], train["mse"], train["r2"]) == (
        400,
        summary["train_mse"],
        summary["train_r2"],
    )
    r = cli("evaluate", str(sine_run))
    assert r.exit_code == 0 and r.stderr == ""
    assert f"{got['mse']:.6f}" in r.stdout and f"{got['r2']:.6f}" in r.stdout and "MAE" in r.stdout
    assert "confusion" not in r.stdout and "accuracy" not in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--errors", "out"],
            "--errors writes misclassified images, "
            "but this run is a regression (it has no classes)",
        ),
        (
            ["--threshold", "0.3"],
            "--threshold applies to binary classifiers; this run's loss is mean_squared_error",
        ),
        (
            ["--split", "val"],
            "the run has no validation set (no validation_fraction or dataset.val); "
            "use --split train or test",
        ),
        (["--split", "dev"], "--split: got 'dev'; valid: train, val, test"),
    ],
)
def test_evaluate_refusals_for_a_regression_run(
    cli, sine_run: Path, tmp_path: Path, args, message
) -> None:
    r = cli("evaluate", str(sine_run), *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr
    assert not (tmp_path / "out").exists()


def test_softmax_run_refuses_threshold_and_feature_errors_dir(
    cli, spiral_run: Path, tmp_path: Path
) -> None:
    for value in ("0.3", "0.5"):  # even the default, typed explicitly, would be ignored
        r = cli("evaluate", str(spiral_run), "--threshold", value)
        assert r.exit_code == 2 and r.stdout == ""
        assert (
            "--threshold applies to binary classifiers; "
            "this run's loss is categorical_cross_entropy" in r.stderr
        )
    r = cli("evaluate", str(spiral_run), "--errors", "out")
    assert r.exit_code == 2 and r.stdout == ""
    assert "--errors writes images, but this run was trained on feature vectors" in r.stderr
    assert not (tmp_path / "out").exists()


def write_h5(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    with h5py.File(path, "w") as f:
        f["set_x"] = x
        f["set_y"] = y
    return path


def test_several_outputs_are_scored_per_output_and_data_files_checked(
    cli, runs_dir, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    y = np.c_[
        x @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=150), np.sin(x[:, 0])
    ]  # the second is not linear
    write_h5(tmp_path / "tr.h5", x[:100], y[:100])
    write_h5(tmp_path / "te.h5", x[100:], y[100:])
    write_h5(tmp_path / "one.h5", x[100:], y[100:, 0])
    cfg = write_config(
        tmp_path / "r.yaml",
        "dataset: {train: tr.h5, test: te.h5}\nlayer_dims: [auto, 2]\n"
        "activations: [linear]\ninit: xavier\nlearning_rate: 0.1\niterations: 200\n",
    )
    run, summary = train_json(cli, str(cfg))
    got = run_json(cli, "evaluate", str(run))
    Yhat, Y = hand_forward(run, x[100:].T), y[100:].T
    assert got["n_outputs"] == 2 and len(got["per_output"]) == 2
    for k, s in enumerate(got["per_output"]):
        e = Yhat[k] - Y[k]
        assert s["mse"] == pytest.approx(np.mean(e**2), rel=1e-10)
        assert s["mae"] == pytest.approx(np.mean(np.abs(e)), rel=1e-10)
        assert s["r2"] == pytest.approx(
            1 - np.sum(e**2) / np.sum((Y[k] - Y[k].mean()) ** 2), rel=1e-10
        )
    assert (
        got["per_output"][0]["r2"] > 0.95 > got["per_output"][1]["r2"]
    )  # linear fits the linear target
    assert got["mse"] == pytest.approx(np.mean([s["mse"] for s in got["per_output"]]), rel=1e-12)
    assert got["r2"] == pytest.approx(np.mean([s["r2"] for s in got["per_output"]]), rel=1e-12)
    assert got["mse"] == summary["test_mse"]
    # --data: another file of the same format is scored; a file with one target per example is
    # refused
    assert run_json(cli, "evaluate", str(run), "--data", "te.h5")["mse"] == got["mse"]
    r = cli("evaluate", str(run), "--data", "one.h5")
    assert r.exit_code == 2 and r.stdout == ""
    assert "one.h5: examples have 1 target value(s), but the run predicts 2" in r.stderr
    r = cli("evaluate", str(run))
    assert r.exit_code == 0
    assert "MSE (all outputs)" in r.stdout and "per output" in r.stdout
    assert f"{got['per_output'][1]['r2']:.6f}" in r.stdout


def test_runs_list_and_compare_show_regression_metrics(
    cli, spiral_run: Path, sine_run: Path
) -> None:
    sine = json.loads((sine_run / "summary.json").read_text())
    rows = {r["name"]: r for r in run_json(cli, "runs", "list")}
    assert (rows["sine"]["test_mse"], rows["sine"]["test_r2"]) == (
        sine["test_mse"],
        sine["test_r2"],
    )
    assert rows["sine"]["test_accuracy"] is None
    assert rows["spiral"]["test_mse"] is None and rows["spiral"]["test_accuracy"] > 0.7
    r = cli("runs", "list")
    assert r.exit_code == 0 and r.stderr == ""
    header, *lines = r.stdout.splitlines()
    assert header.rstrip().endswith("test acc  test MSE  test R²")
    sine_line = next(line for line in lines if " sine " in line)
    assert sine_line.split()[-2:] == [f"{sine['test_mse']:.4f}", f"{sine['test_r2']:.4f}"]
    cmp = run_json(cli, "runs", "compare", spiral_run.name, sine_run.name)
    assert cmp["metrics"]["test_r2"] == [None, sine["test_r2"]]
    assert cmp["metrics"]["test_accuracy"][1] is None
    # two classifiers: no empty regression rows
    other, _ = train_json(cli, str(CONFIGS / "spiral.yaml"), "--set", "epochs=5")
    cmp = run_json(cli, "runs", "compare", spiral_run.name, other.name)
    assert "test_mse" not in cmp["metrics"] and "test_accuracy" in cmp["metrics"]
    r = cli("runs", "list")
    assert "test R²" in r.stdout  # one regression run listed is enough for the columns


def test_errors_dir_with_a_validation_hold_out_writes_the_right_images(
    cli, runs_dir, cat_dir: Path, tmp_path: Path
) -> None:
    from PIL import Image

    run, summary = train_json(
        cli,
        str(CONFIGS / "cat_2layer.yaml"),
        "--set",
        "iterations=3",
        "--set",
        "validation_fraction=0.2",
    )
    r = cli("evaluate", str(run), "--split", "train", "--errors", "wrong", "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert r.stderr == f"wrote {len(got['misclassified'])} misclassified image(s) to wrong\n"
    assert got["accuracy"] == summary["train_accuracy"]
    assert got["n"] == summary["dataset"]["n_train"]
    ds = bind(load_run_config(run)).dataset
    files = sorted((tmp_path / "wrong").iterdir())
    assert len(files) == len(got["misclassified"]) > 0
    for f, i in zip(files, got["misclassified"]):
        assert f.name.startswith(f"{i:04d}_")
        pixels = np.asarray(Image.open(f)).reshape(-1) / 255
        np.testing.assert_allclose(pixels, ds.X_train[:, i], rtol=0, atol=1e-12)
