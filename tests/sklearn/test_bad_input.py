"""Bad input: scikit-learn's errors where its contract asks for them (shapes, NaN, strings,
lengths), the config's one-line messages (as ValueError) for bad parameters; and the package
stays out of ``import nnctl``."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from nnctl.sklearn import NNClassifier, NNRegressor

X = np.arange(40, dtype=float).reshape(20, 2)
y = np.arange(20) % 2


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "error", "message"),
    [
        (X[:, 0], y, ValueError, "Expected 2D array, got 1D array"),
        (np.where(X > 30, np.nan, X), y, ValueError, "Input X contains NaN"),
        (X.astype(str).astype(object) + "x", y, ValueError, "could not convert string to float"),
        (X, y[:-1], ValueError, "inconsistent numbers of samples"),
        (X, None, ValueError, "requires y to be passed"),
        (X, np.linspace(0, 1, 20), ValueError, "Unknown label type"),
        (X, np.zeros(20), ValueError, "y has 1 class"),
    ],
)
def test_bad_arrays_get_scikit_learns_errors(X_bad, y_bad, error, message) -> None:
    with pytest.raises(error, match=message):
        NNClassifier((3,), epochs=1).fit(X_bad, y_bad)


def test_predict_checks_the_fitted_feature_count() -> None:
    est = NNClassifier((3,), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but NNClassifier is expecting 2"):
        est.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="previously unseen labels"):
        est.set_params(warm_start=True).fit(X, y + 5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learning_rate": -1.0}, "NNRegressor: learning_rate: "),
        ({"optimizer": "sgdd"}, "NNRegressor: optimizer: "),
        ({"optimizer": "gd", "beta1": 0.8}, "beta1: only used by optimizer adam"),
        ({"early_stopping": True}, "early_stopping: needs a validation set"),
        ({"dropout": [0.5, 0.5]}, "dropout: got 2 keep probabilities"),
        ({"iterations": 5}, "give exactly one of iterations"),
        ({"activation": "softmax"}, "softmax is an output activation only"),
        ({"dtype": "float16"}, "NNRegressor: dtype: "),
    ],
)
def test_bad_parameters_get_the_configs_messages(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        NNRegressor((3,), **{"epochs": 1, **params}).fit(X, y.astype(float))


def test_warm_start_refuses_a_changed_network() -> None:
    est = NNRegressor((3,), epochs=1, warm_start=True).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="layer_dims changed"):
        est.set_params(hidden_layer_sizes=(4,)).fit(X, y.astype(float))


def test_import_nnctl_does_not_import_scikit_learn() -> None:
    code = "import sys, nnctl, nnctl.sklearn; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_fit_interrupted_inside_a_step_warns_and_cannot_go_on(monkeypatch) -> None:
    import nnctl.training.loop as loop

    real, calls = loop.cost_and_gradients, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "cost_and_gradients", interrupted)
    est = NNClassifier((3,), epochs=5, batch_size=5, warm_start=True)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert len(est.loss_curve_) == 2  # the whole steps before the interruption
    with pytest.raises(ValueError, match="no state to go on from exactly"):
        est.fit(X, y)
