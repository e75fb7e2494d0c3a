"""scikit-learn's own conformance suite on both estimators, nothing skipped or expected to
fail (the estimators' tags state what they are: see nnctl/sklearn/estimators.py)."""

import pytest

pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from sklearn.utils.estimator_checks import parametrize_with_checks

from nnctl.sklearn import NNClassifier, NNRegressor


@parametrize_with_checks([NNClassifier(), NNRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
