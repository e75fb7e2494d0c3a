"""``sample_weight`` in the estimators' ``fit`` and ``partial_fit``: scikit-learn's checks and
errors, integer weights as repeated rows and zero weights as removed ones (full batch), weights
of ones as no weights bit for bit, and ``save_run``'s refusal of a weighted fit."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from nnctl.sklearn import NNClassifier, NNRegressor

# A full-batch fit on weights against one on the rows repeated: the same sums in another order;
# the predicted probabilities agree far more closely than this (measured ~1e-15).
REPEAT_TOL = 1e-9


def _blobs(m: int = 90, n: int = 4, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=m)
    X = rng.normal(size=(m, n)) * 3.0 + y[:, None] * 2.0 + 10.0  # scaled: normalize matters
    return X, y


def _small(**kw):
    return dict(hidden_layer_sizes=(8,), epochs=40, learning_rate=0.01, random_state=0, **kw)


def _same_bits(a, b) -> bool:
    return all(
        np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


@pytest.mark.parametrize(
    "weights,message",
    [
        (-np.ones(90), "Negative values in data passed to `sample_weight`"),
        (np.full(90, np.nan), "Input sample_weight contains NaN"),
        (np.ones(89), r"sample_weight.shape == \(89,\), expected \(90,\)"),
        (np.ones((90, 2)), "Sample weights must be 1D array or scalar"),
        (np.zeros(90), "Sample weights must contain at least one non-zero number"),
    ],
)
def test_bad_weights_are_scikit_learns_value_errors(weights, message) -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match=message):
        NNClassifier(**_small()).fit(X, y, sample_weight=weights)


def test_integer_weights_fit_as_repeated_rows_and_zero_as_removed() -> None:
    X, y = _blobs()
    k = np.random.default_rng(1).integers(0, 4, size=90)
    assert (k == 0).any()
    est = NNClassifier(**_small(batch_size=None))  # full batch: the same gradient sums
    weighted = est.fit(X, y, sample_weight=k).predict_proba(X)
    repeated = NNClassifier(**_small(batch_size=None)).fit(np.repeat(X, k, 0), np.repeat(y, k))
    np.testing.assert_allclose(weighted, repeated.predict_proba(X), rtol=REPEAT_TOL, atol=0)
    plain = NNClassifier(**_small(batch_size=None)).fit(X, y).predict_proba(X)
    assert np.max(np.abs(plain - weighted)) > 1e-3  # the weights changed the fit


def test_a_regressor_weighs_too() -> None:
    X, y = _blobs()
    t = X @ np.array([0.5, -1.0, 0.25, 2.0])
    k = np.random.default_rng(2).integers(0, 3, size=90)
    kw = _small(batch_size=None, l2=0.5)
    weighted = NNRegressor(**kw).fit(X, t, sample_weight=k.astype(float))
    repeated = NNRegressor(**kw).fit(np.repeat(X, k, 0), np.repeat(t, k))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=REPEAT_TOL)


def test_weights_of_ones_are_no_weights_bit_for_bit() -> None:
    X, y = _blobs()
    kw = _small(batch_size=16, validation_fraction=0.2, early_stopping=True)
    a = NNClassifier(**kw).fit(X, y)
    b = NNClassifier(**kw).fit(X, y, sample_weight=np.ones(90))
    assert _same_bits(a, b) and a.loss_curve_ == b.loss_curve_
    c = NNClassifier(**_small()).partial_fit(X, y, classes=[0, 1, 2])
    d = NNClassifier(**_small()).partial_fit(X, y, classes=[0, 1, 2], sample_weight=[1] * 90)
    c.partial_fit(X[:30], y[:30])
    d.partial_fit(X[:30], y[:30], sample_weight=np.ones(30))
    assert _same_bits(c, d)


def test_partial_fit_weighs_each_calls_rows() -> None:
    X, y = _blobs()
    w = np.random.default_rng(3).integers(0, 3, size=90).astype(float)
    kw = _small(batch_size=None)
    a = NNRegressor(**kw).partial_fit(X, y.astype(float), sample_weight=w)
    keep = w > 0
    k = w[keep].astype(int)
    b = NNRegressor(**kw).partial_fit(np.repeat(X[keep], k, 0), np.repeat(y[keep], k) * 1.0)
    # one pass of one full batch, on the statistics of the rows weighed
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=REPEAT_TOL)


def test_the_user_s_weights_are_not_changed() -> None:
    X, y = _blobs()
    w = np.arange(90, dtype=float) % 4
    before = w.copy()
    NNClassifier(**_small(validation_fraction=0.2)).fit(X, y, sample_weight=w)
    assert np.array_equal(w, before)


def test_a_class_that_weighs_nothing_is_refused() -> None:
    X, y = _blobs(k=2)
    with pytest.raises(ValueError, match=r"only samples of 1 class \(1\) have a positive"):
        NNClassifier(**_small()).fit(X, y, sample_weight=(y == 1).astype(float))


def test_save_run_refuses_a_weighted_fit_and_takes_weights_of_ones(tmp_path: Path) -> None:
    X, y = _blobs()
    est = NNClassifier(**_small()).fit(X, y, sample_weight=np.arange(90) % 3)
    with pytest.raises(ValueError, match="this fit used sample_weight"):
        est.save_run(tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    ones = NNClassifier(**_small()).fit(X, y, sample_weight=np.ones(90))
    assert (ones.save_run(tmp_path / "runs") / "params.npz").is_file()
