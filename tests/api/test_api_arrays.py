"""Arrays as data: where they are written (``<runs_dir>/data/``, by content), that the run they
train is an ordinary run (``nnctl predict``, ``evaluate`` and ``--resume`` use it), string labels,
regression targets, and bad arrays refused as ValueError / TypeError with nothing on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnctl
from nnctl.api import DATA_FOLDER


def test_arrays_are_written_once_by_content(net, arrays, runs_dir) -> None:
    X, y = arrays
    a = nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    b = nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    (data,) = (runs_dir / DATA_FOLDER).iterdir()
    assert data.suffix == ".npz"
    with np.load(data) as z:
        assert np.array_equal(z["x"], X) and z["x"].dtype == np.float64
        assert np.array_equal(z["y"], y)
    (source,) = a.summary.sources
    assert source["path"] == str(data.resolve()) and source["role"] == "train"
    assert a.config["dataset"]["train"] == str(data.absolute())
    assert a.params["W1"].tobytes() == b.params["W1"].tobytes()


def test_an_array_run_is_the_run_of_its_data_file(cli, net, arrays, runs_dir) -> None:
    X, y = arrays
    run = nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    (data,) = (runs_dir / DATA_FOLDER).iterdir()
    by_file = nnctl.train(net, runs_dir=runs_dir, dataset={"train": str(data)})
    assert run.params["W1"].tobytes() == by_file.params["W1"].tobytes()
    r = cli("evaluate", run.id, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == run.scores["train_accuracy"]
    r = cli("train", "--resume", run.id, "--more", "5", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert nnctl.load_run(run.id).summary.iterations_done == 65


def test_string_labels_become_the_classes(net, arrays, runs_dir) -> None:
    X, y = arrays
    names = np.array(["cat", "dog"])[y]
    run = nnctl.train(net, X=X, y=names, runs_dir=runs_dir)
    numeric = nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    assert run.classes == ["cat", "dog"]
    # cat < dog sorts as 0 < 1: the same network, bit for bit
    assert run.params["W1"].tobytes() == numeric.params["W1"].tobytes()
    assert run.summary.sources[0]["kind"] == "csv"
    assert run.predict(X).dtype.kind == "U"
    assert list(run.predict(X)) == [["cat", "dog"][k] for k in numeric.predict(X)]
    assert np.array_equal(run.predict_proba(X), numeric.predict_proba(X))
    assert run.evaluate(X, list(names)).accuracy == numeric.evaluate(X, y).accuracy


def test_a_test_split_and_a_dataset_key_with_arrays(net, arrays, runs_dir) -> None:
    X, y = arrays
    run = nnctl.train(net, X=X[:100], y=y[:100], X_test=X[100:], y_test=y[100:], runs_dir=runs_dir)
    assert run.summary.dataset["n_test"] == 20 and run.scores["test_accuracy"] is not None
    held = nnctl.train(net, X=X, y=y, runs_dir=runs_dir, dataset={"test_fraction": 0.25})
    assert held.summary.dataset["n_train"] == 90 and held.summary.dataset["n_test"] == 30


def test_regression_targets(arrays, runs_dir) -> None:
    X, _ = arrays
    t = X @ np.array([0.5, -1.0, 2.0]) + 0.1
    cfg = {
        "layer_dims": ["auto", 4, 1],
        "activations": ["relu", "linear"],
        "learning_rate": 0.05,
        "iterations": 50,
    }
    run = nnctl.train(cfg, X=X, y=t, runs_dir=runs_dir)
    assert run.summary.task == "regression" and run.classes == []
    pred = run.predict(X[:7])
    assert pred.shape == (7,) and pred.dtype == np.float64
    assert run.evaluate(X, t).r2 == pytest.approx(run.scores["train_r2"])
    with pytest.raises(nnctl.OptionError, match="predict_proba needs a classifier"):
        run.predict_proba(X)


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (np.zeros(5), np.zeros(5), ValueError, r"X: expected a 2-D array .* got shape \(5,\)"),
        (np.zeros((0, 3)), np.zeros(0), ValueError, r"X: no examples \(m = 0\)"),
        (np.zeros((4, 0)), np.zeros(4), ValueError, "X: examples have no features"),
        (np.array([[1.0, np.nan]] * 4), np.zeros(4), ValueError, "X: 4 NaN or infinite value"),
        (np.array([["a", "b"]] * 4), np.zeros(4), TypeError, "X: features must be numbers"),
        (np.array([["1", "2"]] * 4), np.zeros(4), TypeError, "must be numbers, got strings"),
        (np.array([[1, "2"]] * 4, dtype=object), np.zeros(4), TypeError, "must be numbers"),
        (np.array([[1, None]] * 4, dtype=object), np.zeros(4), ValueError, "4 NaN or infinite"),
        (np.ones((4, 2)), np.zeros(3), ValueError, "X has 4 examples but y has 3 labels"),
        (np.ones((4, 2)), np.array([0, 1, np.nan, 1]), ValueError, "y: NaN or infinite"),
        (np.ones((4, 2)), np.array(["a", "", "a", "b"]), ValueError, "y: an empty label"),
        (np.ones((4, 2)), np.array([0, "a", 1.5, 0], dtype=object), TypeError, "a mix of"),
        (np.ones((4, 2)), np.zeros((4, 2, 2)), ValueError, "y: expected labels of shape"),
        (np.ones((4, 2)), None, TypeError, "give both X and y"),
        (np.ones((4, 2)).astype(complex), np.zeros(4), TypeError, "features must be numbers"),
    ],
)
def test_bad_arrays_are_value_and_type_errors(
    net, runs_dir, X, y, error: type, message: str
) -> None:
    with pytest.raises(error, match=message) as exc:
        nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    assert isinstance(exc.value, nnctl.DataError)
    assert not runs_dir.exists()


def test_bad_test_arrays_and_combinations(net, arrays, runs_dir) -> None:
    X, y = arrays
    with pytest.raises(ValueError, match="X_test: 2 features per example but the training"):
        nnctl.train(net, X=X, y=y, X_test=X[:, :2], y_test=y, runs_dir=runs_dir)
    with pytest.raises(ValueError, match="X_test has 120 examples but y_test has 5 labels"):
        nnctl.train(net, X=X, y=y, X_test=X, y_test=y[:5], runs_dir=runs_dir)
    with pytest.raises(TypeError, match="give both X_test and y_test"):
        nnctl.train(net, X=X, y=y, X_test=X, runs_dir=runs_dir)
    with pytest.raises(TypeError, match="X_test and y_test come with X and y"):
        nnctl.train(net, X_test=X, y_test=y, runs_dir=runs_dir)
    with pytest.raises(TypeError, match="dataset= may only add keys such as test_fraction"):
        nnctl.train(net, X=X, y=y, runs_dir=runs_dir, dataset={"synthetic": "moons"})
    assert not runs_dir.exists()


def test_data_the_readers_refuse_leaves_nothing_behind(net, arrays, runs_dir) -> None:
    X, y = arrays
    with pytest.raises(nnctl.ConfigError, match="a sigmoid output does binary classification"):
        nnctl.train(net, X=X, y=y * 2, runs_dir=runs_dir)  # labels 0, 2: three classes
    assert not runs_dir.exists()
    nnctl.train(net, X=X, y=y, runs_dir=runs_dir)
    with pytest.raises(nnctl.ConfigError, match="a sigmoid output does binary classification"):
        nnctl.train(net, X=X, y=y * 2, runs_dir=runs_dir)
    assert len(list((runs_dir / DATA_FOLDER).iterdir())) == 1  # the first run's data stays


def test_lists_and_frames_of_rows_are_arrays(net, arrays, runs_dir) -> None:
    X, y = arrays
    a = nnctl.train(net, X=X.tolist(), y=y.tolist(), runs_dir=runs_dir)
    b = nnctl.train(net, X=X.astype(np.float32).astype(object), y=y, runs_dir=runs_dir)
    assert a.summary.sources[0]["path"] != b.summary.sources[0]["path"]  # X rounded to float32
    assert Path(a.summary.sources[0]["path"]).is_file()


def test_a_dotted_dataset_key_applies_to_the_arrays(net, arrays, runs_dir) -> None:
    X, y = arrays
    run = nnctl.train(net, X=X, y=y, runs_dir=runs_dir, **{"dataset.test_fraction": 0.5})
    assert run.summary.dataset["n_test"] == 60
    with pytest.raises(TypeError, match="X and y are the dataset"):
        nnctl.train(net, X=X, y=y, runs_dir=runs_dir, **{"dataset.train": "x.csv"})
