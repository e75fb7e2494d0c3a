"""Softmax + categorical cross-entropy and linear + mean squared error: the maths against
independent formulas and finite differences, the metrics against hand counts, and both
example configs run end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, write_config
from helpers.gradients import numeric_grads
from nnctl.core import (
    ACTIVATIONS,
    LOSSES,
    OUTPUT_LOSS,
    Architecture,
    argmax_labels,
    categorical_cross_entropy,
    confusion_matrix,
    cost_and_gradients,
    initialize_parameters,
    mean_squared_error,
    one_hot,
    per_class_scores,
    regression_scores,
    softmax,
    softmax_backward,
)


def test_tables_pair_each_output_with_its_loss() -> None:
    assert OUTPUT_LOSS == {
        "sigmoid": "binary_cross_entropy",
        "softmax": "categorical_cross_entropy",
        "linear": "mean_squared_error",
    }
    assert {"softmax", "linear"} <= set(ACTIVATIONS)
    assert {name for name, loss in LOSSES.items() if loss.head.labels is not None} == {
        "binary_cross_entropy",
        "categorical_cross_entropy",
    }


def test_softmax_matches_the_textbook_formula_and_survives_huge_logits() -> None:
    Z = np.array([[1.0, -2.0, 0.0], [2.0, 0.5, 0.0], [3.0, 0.0, 0.0]])
    expected = np.exp(Z) / np.exp(Z).sum(axis=0)
    np.testing.assert_allclose(softmax(Z), expected, rtol=1e-14)
    big = softmax(np.array([[1000.0], [999.0], [-1000.0]]))
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(
        big[:, 0], [1 / (1 + math.exp(-1)), 1 / (1 + math.e), 0.0], rtol=1e-12
    )


def test_softmax_backward_is_the_jacobian_vector_product() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=4)
    a = softmax(z.reshape(-1, 1))[:, 0]
    J = np.diag(a) - np.outer(a, a)  # d softmax_i / d z_j
    dA = rng.normal(size=4)
    got = softmax_backward(dA.reshape(-1, 1).copy(), a.reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(got, J.T @ dA, rtol=1e-12)


def test_categorical_cross_entropy_against_minus_log_probability() -> None:
    ZL = np.array([[2.0, 0.1, -1.0, 0.0], [1.0, 0.2, 3.0, 0.0], [0.1, 0.3, 0.5, 0.0]])
    labels = np.array([[0, 2, 1, 1]])
    P = np.exp(ZL) / np.exp(ZL).sum(axis=0)
    expected = -np.mean(np.log(P[labels[0], np.arange(4)]))
    Y = one_hot(labels, 3)
    assert Y.shape == (3, 4) and Y.sum() == 4 and Y[2, 1] == 1
    assert categorical_cross_entropy(ZL, softmax(ZL), Y) == pytest.approx(expected, rel=1e-13)
    # uniform logits: the cost of K equally likely classes is log K
    Z0 = np.zeros((3, 5))
    assert categorical_cross_entropy(
        Z0, softmax(Z0), one_hot(np.zeros((1, 5)), 3)
    ) == pytest.approx(math.log(3))
    # a confidently wrong example costs its logit gap, not inf
    Zx = np.array([[800.0], [0.0]])
    assert categorical_cross_entropy(Zx, softmax(Zx), one_hot(np.array([[1]]), 2)) == pytest.approx(
        800.0
    )


def test_mean_squared_error_is_the_plain_mean_of_squares() -> None:
    AL = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    Y = np.array([[1.5, 2.0, 1.0], [1.0, 0.0, 1.0]])
    # squared errors 0.25, 0, 4, 1, 0, 0 -> 5.25 / 6
    assert mean_squared_error(AL, AL, Y) == pytest.approx(5.25 / 6)


@pytest.mark.parametrize(
    "acts, dims, make_y",
    [
        (["tanh", "softmax"], [3, 4, 3], lambda rng, m: one_hot(rng.integers(0, 3, (1, m)), 3)),
        (["relu", "linear"], [3, 5, 2], lambda rng, m: rng.normal(size=(2, m))),
        (["sigmoid", "tanh", "linear"], [3, 4, 3, 1], lambda rng, m: rng.normal(size=(1, m))),
    ],
)
def test_fused_head_gradients_match_finite_differences(acts, dims, make_y) -> None:
    rng = np.random.default_rng(3)
    m = 7
    X = rng.normal(size=(dims[0], m))
    Y = make_y(rng, m)
    loss = OUTPUT_LOSS[acts[-1]]
    arch = Architecture.build(acts, loss)
    params = initialize_parameters(dims, "xavier", 2)
    _, dWs, dbs = cost_and_gradients(params, X, Y, arch)
    numeric = numeric_grads(lambda: cost_and_gradients(params, X, Y, arch)[0], params)
    for got, want in zip((*dWs, *dbs), numeric):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_labels_confusion_and_per_class_scores_by_hand() -> None:
    AL = np.array([[0.7, 0.1, 0.2, 0.3, 0.5], [0.2, 0.8, 0.1, 0.3, 0.1], [0.1, 0.1, 0.7, 0.4, 0.4]])
    labels = argmax_labels(AL)
    assert labels.tolist() == [[0, 1, 2, 2, 0]]
    Y = np.array([[0, 1, 1, 2, 2]])
    cm = confusion_matrix(labels, Y, 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 1]]
    sc = per_class_scores(labels, Y, 3)
    assert sc["support"] == [1, 2, 2]
    assert sc["precision"] == [0.5, 1.0, 0.5]
    assert sc["recall"] == [1.0, 0.5, 0.5]
    assert sc["f1"][0] == pytest.approx(2 / 3)
    # a class that is never predicted has no precision (0/0), not a precision of 0
    assert per_class_scores(np.array([[0, 0]]), np.array([[0, 1]]), 2)["precision"] == [0.5, None]


def test_regression_scores_by_hand() -> None:
    Y = np.array([[1.0, 2.0, 3.0, 4.0]])
    AL = np.array([[1.0, 2.5, 2.0, 4.0]])
    s = regression_scores(AL, Y)
    assert s["mse"] == pytest.approx((0.25 + 1) / 4)
    assert s["mae"] == pytest.approx(1.5 / 4)
    assert s["r2"] == pytest.approx(1 - 1.25 / 5.0)  # SS_tot = 2.25+0.25+0.25+2.25
    assert regression_scores(Y, Y)["r2"] == 1.0


def test_spiral_config_trains_a_three_class_softmax(cli, runs_dir: Path) -> None:
    r = cli("train", CONFIGS / "spiral.yaml", "--set", "epochs=40", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "complete"
    summary = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert summary["loss"] == "categorical_cross_entropy"
    assert summary["preprocessing"]["classes"] == ["arm0", "arm1", "arm2"]
    assert summary["dataset"]["n_val"] == 96  # 20% of each class's 160 training examples
    # three spiral arms are far from linearly separable; chance is 1/3
    assert summary["train_accuracy"] > 0.8
    assert summary["test_accuracy"] > 0.7


def test_sine_config_fits_a_regression(cli, runs_dir: Path) -> None:
    r = cli("train", CONFIGS / "sine.yaml", "--set", "epochs=60", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    summary = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert summary["loss"] == "mean_squared_error"
    assert summary["train_accuracy"] is None
    # the noise has standard deviation 0.1, so no fit can beat an MSE of about 0.01
    assert 0.005 < summary["test_mse"] < 0.05
    assert summary["test_r2"] > 0.9
    params = np.load(Path(out["run_dir"]) / "params.npz")
    assert params["W3"].shape == (1, 32)


BASE = """\
dataset: {{synthetic: {data}, m: 90, test_fraction: 0.2, seed: 1}}
layer_dims: {dims}
activations: {acts}
learning_rate: 0.1
iterations: 5
"""


@pytest.mark.parametrize(
    "data, dims, acts, message",
    [
        (
            "spiral",
            "[auto, 4, 1]",
            "[relu, sigmoid]",
            "a sigmoid output does binary classification, but the dataset has 3 classes (arm0, "
            "arm1, arm2); use a softmax output with 3 units",
        ),
        (
            "spiral",
            "[auto, 4, 4]",
            "[relu, softmax]",
            "layer_dims: a softmax output has one unit per class, but the last layer has 4 and "
            "the dataset has 3 classes (arm0, arm1, arm2); use 3",
        ),
        (
            "moons",
            "[auto, 4, 1]",
            "[relu, linear]",
            "loss mean_squared_error (linear output) needs real-valued targets, but the dataset "
            "has 2 classes",
        ),
        (
            "sine",
            "[auto, 4, 1]",
            "[relu, sigmoid]",
            "the dataset has real-valued targets (regression) but the output activation is "
            "sigmoid; use a linear output",
        ),
        (
            "sine",
            "[auto, 4, 2]",
            "[relu, linear]",
            "layer_dims: the last layer has 2 unit(s) but the dataset has 1 target value(s) per "
            "example; use 1",
        ),
        (
            "spiral",
            "[auto, 4, 1]",
            "[relu, softmax]",
            "layer_dims: a softmax output has one unit per class (at least 2), got 1",
        ),
    ],
)
def test_head_and_dataset_mismatches_are_config_errors(
    cli, runs_dir, tmp_path, data, dims, acts, message
) -> None:
    cfg = write_config(tmp_path / "c.yaml", BASE.format(data=data, dims=dims, acts=acts))
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_loss_that_does_not_fit_the_output_is_refused(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        BASE.format(data="spiral", dims="[auto, 4, 3]", acts="[relu, softmax]")
        + "loss: mean_squared_error\n",
    )
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert (
        "loss: mean_squared_error needs a linear output layer, but the output activation is softmax"
        in r.stderr
    )


def write_h5(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f["set_x"] = x
        f["set_y"] = y
    return path


def test_regression_targets_from_hdf5_files(cli, runs_dir, tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = np.c_[x @ [1.0, -2.0, 0.5], x[:, 0] - x[:, 2]]  # two linear targets: (m, 2)
    write_h5(tmp_path / "tr.h5", x[:100], y[:100])
    write_h5(tmp_path / "te.h5", x[100:], y[100:])
    cfg = write_config(
        tmp_path / "r.yaml",
        """\
dataset: {train: tr.h5, test: te.h5}
layer_dims: [auto, 2]
activations: [linear]
init: xavier
learning_rate: 0.1
iterations: 300
""",
    )
    r = cli("train", cfg, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads((Path(json.loads(r.stdout)["run_dir"]) / "summary.json").read_text())
    assert s["preprocessing"]["task"] == "regression" and s["preprocessing"]["classes"] == []
    # a single linear layer can represent these targets exactly
    assert s["test_mse"] < 1e-6 and s["test_r2"] > 0.999999
    # the same file read as class labels is refused with a pointer to the linear output
    bad = write_config(
        tmp_path / "b.yaml",
        "dataset: {train: tr.h5}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\niterations: 3\n",
    )
    write_h5(tmp_path / "tr.h5", x[:100], y[:100, 0])
    r = cli("train", bad)
    assert r.exit_code == 2
    assert (
        "tr.h5: set_y: labels must be whole class numbers, got float64 (for real-valued targets "
        "use a linear output" in r.stderr
    )


def test_heads_table_interprets_classification_and_regression_outputs() -> None:
    from nnctl.core import LOSSES, Head, check_threshold, interpret
    from nnctl.system import ConfigError

    AL = np.array([[0.2, 0.7]])
    out = interpret(LOSSES["binary_cross_entropy"].head, AL, ["no", "yes"], 0.5)
    assert [o["class"] for o in out] == ["no", "yes"]
    assert [o["label"] for o in out] == [0, 1]
    assert out[0]["probability"] == pytest.approx(0.8) and out[1]["probability"] == 0.7
    assert out[0]["probabilities"] == {"no": pytest.approx(0.8), "yes": 0.2}
    assert [
        o["class"] for o in interpret(LOSSES["binary_cross_entropy"].head, AL, ["no", "yes"], 0.75)
    ] == ["no", "no"]
    # a regression head (as another helper adds) is one entry: values, no labels
    regression = Head(labels=None, probabilities=None)
    out = interpret(regression, np.array([[1.5, -2.0]]), [], 0.5)
    assert out == [
        {"label": None, "class": None, "probability": None, "value": 1.5},
        {"label": None, "class": None, "probability": None, "value": -2.0},
    ]
    with pytest.raises(ConfigError, match="^threshold applies to binary classifiers"):
        check_threshold(regression, 0.7, "mean_squared_error")
    assert check_threshold(regression, None, "mean_squared_error") == 0.5  # not given: fine
    assert check_threshold(LOSSES["binary_cross_entropy"].head, None, "binary_cross_entropy") == 0.5
    assert check_threshold(LOSSES["binary_cross_entropy"].head, 0.3, "binary_cross_entropy") == 0.3
