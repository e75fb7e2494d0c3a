"""``NNClassifier(class_weight=...)``: a dict or ``"balanced"`` trains exactly as the same
per-row weights given as ``sample_weight`` (bit for bit), both given multiply (scikit-learn's
convention), balanced is scikit-learn's n / (K * bincount), and bad values are ValueErrors."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from sklearn.utils.class_weight import compute_class_weight

from nnctl.sklearn import NNClassifier


def _data(m: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(m) < 0.25, "cat", "non-cat")  # imbalanced, string labels
    X = rng.normal(size=(m, 3)) + (y == "cat")[:, None] * 1.0
    return X, y


def _small(**kw):
    return dict(hidden_layer_sizes=(6,), epochs=30, learning_rate=0.01, random_state=0, **kw)


def _params(est) -> list[np.ndarray]:
    return est.coefs_ + est.intercepts_


def _same_bits(a, b) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(_params(a), _params(b)))


def test_a_dict_trains_as_the_same_sample_weights_bit_for_bit() -> None:
    X, y = _data()
    by_class = NNClassifier(**_small(class_weight={"cat": 3.0})).fit(X, y)
    by_row = NNClassifier(**_small()).fit(X, y, sample_weight=np.where(y == "cat", 3.0, 1.0))
    plain = NNClassifier(**_small()).fit(X, y)
    assert _same_bits(by_class, by_row)
    assert not _same_bits(by_class, plain)  # the weights changed the fit
    # the weighted fit puts more probability on the up-weighted class
    k = list(by_class.classes_).index("cat")
    assert by_class.predict_proba(X)[:, k].mean() > plain.predict_proba(X)[:, k].mean()


def test_class_weight_multiplies_sample_weight() -> None:
    X, y = _data()
    sw = np.linspace(0.2, 2.0, y.size)
    both = NNClassifier(**_small(class_weight={"cat": 4.0, "non-cat": 0.5})).fit(
        X, y, sample_weight=sw
    )
    product = NNClassifier(**_small()).fit(X, y, sample_weight=sw * np.where(y == "cat", 4.0, 0.5))
    assert _same_bits(both, product)


def test_balanced_is_n_over_k_times_the_class_counts() -> None:
    X, y = _data()
    n_cat = int(np.sum(y == "cat"))
    expected = {"cat": y.size / (2 * n_cat), "non-cat": y.size / (2 * (y.size - n_cat))}
    np.testing.assert_allclose(
        compute_class_weight("balanced", classes=np.array(["cat", "non-cat"]), y=y),
        [expected["cat"], expected["non-cat"]],
        rtol=1e-15,
    )
    balanced = NNClassifier(**_small(class_weight="balanced")).fit(X, y)
    by_row = NNClassifier(**_small()).fit(
        X, y, sample_weight=np.where(y == "cat", expected["cat"], expected["non-cat"])
    )
    assert _same_bits(balanced, by_row)


@pytest.mark.parametrize(
    "class_weight,message",
    [
        ({"dog": 2.0}, "class_weight: 'dog' is not a class of y (classes: cat, non-cat)"),
        ({"cat": 0.0}, "weights must be positive finite numbers, got 0.0"),
        ({"cat": np.inf}, "weights must be positive finite numbers, got inf"),
        ("balance", "expected 'balanced', a dict or None"),
    ],
)
def test_bad_class_weights_are_value_errors(class_weight, message) -> None:
    X, y = _data()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        NNClassifier(**_small(class_weight=class_weight)).fit(X, y)


def test_balanced_partial_fit_is_refused_and_a_dict_is_used() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="partial_fit never sees"):
        NNClassifier(**_small(class_weight="balanced")).partial_fit(
            X, y, classes=["cat", "non-cat"]
        )
    a = NNClassifier(**_small(class_weight={"cat": 2.0})).partial_fit(
        X, y, classes=["cat", "non-cat"]
    )
    b = NNClassifier(**_small()).partial_fit(
        X, y, classes=["cat", "non-cat"], sample_weight=np.where(y == "cat", 2.0, 1.0)
    )
    assert _same_bits(a, b)


def test_save_run_refuses_a_class_weighted_fit(tmp_path) -> None:
    X, y = _data()
    est = NNClassifier(**_small(class_weight={"cat": 2.0})).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        est.save_run(tmp_path)
