"""The estimators where scikit-learn users put them: pipelines, grid searches and
cross-validation in two processes, permutation importance, learning curves, clones, pickles
(the same bits), pandas frames with column names; sparse input refused with scikit-learn's
error; warm start and partial_fit going on from the same state."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.inspection import permutation_importance
from sklearn.model_selection import GridSearchCV, cross_val_score, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnctl.sklearn import NNClassifier, NNRegressor


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def small(**kw):
    return NNClassifier(
        **{"hidden_layer_sizes": (10,), "epochs": 40, "batch_size": 32, "random_state": 0, **kw}
    )


def test_in_a_pipeline(iris) -> None:
    X, y = iris
    pipe = make_pipeline(StandardScaler(), small(normalize="none", learning_rate=0.01)).fit(X, y)
    assert pipe.score(X, y) > 0.8
    assert pipe.predict_proba(X).shape == (150, 3)


def test_grid_search_and_cross_validation_in_two_processes(iris) -> None:
    X, y = iris
    search = GridSearchCV(
        small(),
        {"learning_rate": [0.001, 0.01], "hidden_layer_sizes": [(4,), (10,)]},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_params_["learning_rate"] in (0.001, 0.01)
    assert search.best_score_ > 0.7
    scores = cross_val_score(small(learning_rate=0.01), X, y, cv=3, n_jobs=2)
    # the same folds fitted in this process give the same scores: the fits are deterministic
    here = cross_val_score(small(learning_rate=0.01), X, y, cv=3, n_jobs=1)
    assert scores.tolist() == here.tolist()


def test_permutation_importance_and_learning_curve(iris) -> None:
    X, y = iris
    est = small(learning_rate=0.01).fit(X, y)
    result = permutation_importance(est, X, y, n_repeats=2, random_state=0)
    assert result.importances_mean.shape == (4,)
    sizes, train, test = learning_curve(small(), X, y, cv=3, train_sizes=[0.5, 1.0])
    assert train.shape == test.shape == (2, 3)


def test_clone_keeps_the_parameters_and_drops_the_fit(iris) -> None:
    X, y = iris
    est = small(l2=0.1).fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coefs_")


def test_a_pickled_fitted_estimator_predicts_the_same_bits(iris) -> None:
    X, y = iris
    for est in (small().fit(X, y), NNRegressor((5,), epochs=20).fit(X[:, :3], X[:, 3])):
        again = pickle.loads(pickle.dumps(est))
        data = X if isinstance(est, NNClassifier) else X[:, :3]
        method = "predict_proba" if isinstance(est, NNClassifier) else "predict"
        assert getattr(again, method)(data).tobytes() == getattr(est, method)(data).tobytes()


def test_pandas_frames_keep_their_column_names() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :6], data.target
    est = small().fit(X, y)
    assert est.feature_names_in_.tolist() == list(X.columns)
    assert est.n_features_in_ == 6
    assert est.predict(X).shape == (len(X),)
    renamed = X.rename(columns={X.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names"):
        est.predict(renamed)
    assert isinstance(pd.Series(est.predict(X)), pd.Series)


def test_sparse_input_is_refused_with_scikit_learns_error(iris) -> None:
    X, y = iris
    with pytest.raises(TypeError, match="Sparse data was passed"):
        small().fit(sparse.csr_matrix(X), y)


def test_warm_start_goes_on_from_the_same_state(iris) -> None:
    X, y = iris
    once = small(epochs=30).fit(X, y)
    twice = small(epochs=10, warm_start=True).fit(X, y)
    twice.set_params(epochs=20).fit(X, y)
    assert twice.n_iter_ == 30
    for a, b in zip(once.coefs_, twice.coefs_):
        assert a.tobytes() == b.tobytes()
    assert once.loss_curve_ == twice.loss_curve_


def test_partial_fit_makes_one_pass_per_call(iris) -> None:
    X, y = iris
    by_calls = small()
    for _ in range(5):
        by_calls.partial_fit(X, y, classes=np.unique(y))
    assert by_calls.n_iter_ == 5
    in_one = small(epochs=5).fit(X, y)
    for a, b in zip(in_one.coefs_, by_calls.coefs_):
        assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="classes must be passed"):
        small().partial_fit(X, y)


def test_string_labels_come_back_as_themselves(iris) -> None:
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = small(learning_rate=0.01).fit(X, names)
    assert est.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert set(est.predict(X)) <= set(names)
    binary = small().fit(X[:100], names[:100])
    assert binary.predict_proba(X[:100]).shape == (100, 2)
    assert binary.coefs_[-1].shape == (10, 1)  # one sigmoid unit for two classes
