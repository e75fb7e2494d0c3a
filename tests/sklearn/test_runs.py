"""Same numbers as the command (an estimator's fit and ``nnctl train`` of the equivalent config
on the same arrays give bit-identical parameters), and estimators as run directories:
``save_run`` writes one that ``nnctl predict`` and ``evaluate`` use, ``from_run`` loads one."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from nnctl.commands import train_run
from nnctl.config import load_config
from nnctl.runs import load_run
from nnctl.sklearn import NNClassifier, NNRegressor


def _blobs(m: int = 120, n: int = 4, k: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=m)
    X = rng.normal(size=(m, n)) * 3.0 + y[:, None] * 2.0 + 10.0  # scaled: normalize matters
    return X, y


def _train_config(tmp_path: Path, x: np.ndarray, y: np.ndarray, config: dict) -> dict:
    """``nnctl train`` of ``config`` on x, y saved as data.npz: the run's parameters."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    path = tmp_path / "same.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"train": "data.npz"}, **config}))
    outcome = train_run(load_config(path), tmp_path / "runs")
    return outcome.result.params.to_dict()


def _layers(hidden: list, n_out: int, output: str, activation: str = "relu") -> dict:
    """The config's layer_dims and activations of a network with these hidden layers."""
    return {
        "layer_dims": ["auto", *hidden, n_out],
        "activations": {"hidden": activation, "output": output},
    }


def _same_bits(est, params: dict) -> None:
    for l, (W, b) in enumerate(zip(est.coefs_, est.intercepts_), start=1):
        assert W.T.tobytes() == params[f"W{l}"].tobytes()
        assert b.tobytes() == params[f"b{l}"].reshape(-1).tobytes()


def test_a_classifier_fit_is_bit_identical_to_nnctl_train(tmp_path: Path) -> None:
    X, y = _blobs(k=3)
    est = NNClassifier(
        (8, 5),
        "tanh",
        optimizer="adam",
        learning_rate=0.01,
        batch_size=16,
        epochs=15,
        l2=0.01,
        dropout=0.9,
        validation_fraction=0.25,
        early_stopping={"patience": 3},
        random_state=7,
    ).fit(X, y)
    config = {
        **_layers([8, 5], 3, "softmax", "tanh"),
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 16,
        "epochs": 15,
        "l2": 0.01,
        "dropout": 0.9,
        "validation_fraction": 0.25,
        "early_stopping": {"patience": 3},
        "init": "he",
        "seed": 7,
    }
    _same_bits(est, _train_config(tmp_path, X, y, config))


def test_a_regressor_fit_on_the_fast_path_is_bit_identical_to_nnctl_train(tmp_path: Path) -> None:
    X, _ = _blobs()
    t = X @ np.array([0.5, -1.0, 0.25, 2.0])
    est = NNRegressor(
        (6,),
        optimizer="gd",
        learning_rate=0.05,
        batch_size=None,
        epochs=None,
        iterations=40,
        random_state=2,
    ).fit(X, t)
    config = {
        **_layers([6], 1, "linear"),
        "learning_rate": 0.05,
        "iterations": 40,
        "init": "he",
        "seed": 2,
    }
    _same_bits(est, _train_config(tmp_path, X, t, config))


def test_a_float32_fit_of_two_targets_is_bit_identical_to_nnctl_train(tmp_path: Path) -> None:
    X, _ = _blobs()
    T = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1)
    est = NNRegressor(
        (7,), optimizer="momentum", beta=0.8, batch_size=25, epochs=6, dtype="float32"
    ).fit(X, T)
    assert est.coefs_[0].dtype == np.float32 and est.predict(X).shape == (120, 2)
    config = {
        **_layers([7], 2, "linear"),
        "optimizer": "momentum",
        "beta": 0.8,
        "learning_rate": 0.001,
        "batch_size": 25,
        "epochs": 6,
        "init": "he",
        "dtype": "float32",
    }
    _same_bits(est, _train_config(tmp_path, X, T, config))


def test_save_run_writes_a_run_that_predict_and_evaluate_use(cli, tmp_path: Path) -> None:
    X, y = _blobs()
    labels = np.array(["cat", "dog"])[y]
    est = NNClassifier((6,), epochs=20, batch_size=32, random_state=0).fit(X, labels)
    run_dir = est.save_run(tmp_path / "runs")
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "data.npz", "history.csv", "params.npz", "summary.json"} <= names
    run = load_run(run_dir)
    assert run.summary.status == "complete"
    assert run.config.dataset["train"] == "data.npz"
    assert run.summary.scores["train_accuracy"] == pytest.approx(est.score(X, labels))

    np.save(tmp_path / "rows.npy", X[:5])
    r = cli("predict", run_dir, tmp_path / "rows.npy", "--json")
    assert r.exit_code == 0, r.stderr
    predicted = [row["class"] for row in json.loads(r.stdout)]
    # the run's classes are the label indices; data.npz names them
    assert est.classes_[[int(c) for c in predicted]].tolist() == est.predict(X[:5]).tolist()

    r = cli("evaluate", run_dir, "--split", "train", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == pytest.approx(est.score(X, labels))

    loaded = NNClassifier.from_run(run_dir)
    assert loaded.classes_.tolist() == ["cat", "dog"]
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.get_params()["hidden_layer_sizes"] == (6,)


def test_a_saved_run_reports_exports_and_resumes(cli, tmp_path: Path) -> None:
    X, y = _blobs()
    run_dir = NNClassifier((4,), epochs=3, batch_size=40).fit(X, y).save_run(tmp_path / "runs")
    assert cli("report", run_dir, "-o", tmp_path / "report.html").exit_code == 0
    assert cli("export", run_dir, "-f", "npz", "-o", tmp_path / "model.npz").exit_code == 0
    # its checkpoint (Adam's state) lets the command go on from where the estimator stopped
    r = cli("train", "--resume", run_dir, "--more", "2", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert load_run(run_dir).summary.epochs_done == 5


def test_from_run_loads_a_run_of_nnctl_train_and_goes_on(tmp_path: Path) -> None:
    X, y = _blobs()
    config = {
        **_layers([5], 1, "sigmoid"),
        "optimizer": "momentum",
        "learning_rate": 0.05,
        "batch_size": 20,
        "epochs": 4,
        "init": "he",
        "seed": 1,
    }
    _train_config(tmp_path, X, y, config)
    (run_dir,) = (tmp_path / "runs").iterdir()
    est = NNClassifier.from_run(run_dir)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4 * 6
    # going on from the run's checkpoint: the same as a run asked for 7 epochs from the start
    est.set_params(warm_start=True, epochs=3).fit(X, y)
    longer = _train_config(tmp_path / "longer", X, y, {**config, "epochs": 7})
    _same_bits(est, longer)


def test_save_run_refuses_an_estimator_trained_in_several_calls(tmp_path: Path) -> None:
    X, y = _blobs()
    est = NNClassifier((4,), epochs=2).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="several"):
        est.save_run(tmp_path)


def test_a_pickle_keeps_the_fit_but_not_the_training_set(tmp_path: Path) -> None:
    import pickle

    X, y = _blobs(m=2000, n=20)
    est = NNClassifier((3,), epochs=1).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    assert len(pickle.dumps(est)) < X.nbytes / 4
    with pytest.raises(ValueError, match="which a pickle does not keep"):
        again.save_run(tmp_path)


def test_from_run_refuses_the_other_task(tmp_path: Path) -> None:
    X, y = _blobs()
    run_dir = NNRegressor((3,), epochs=2).fit(X, y.astype(float)).save_run(tmp_path)
    with pytest.raises(ValueError, match="NNRegressor"):
        NNClassifier.from_run(run_dir)
