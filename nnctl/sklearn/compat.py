"""What differs between the scikit-learn versions the extra allows (1.4 and later):
``validate_data`` is a function from 1.6, a method (``_validate_data``) before it."""

from __future__ import annotations

from typing import Any

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(
        estimator: Any, X: Any = "no_validation", y: Any = "no_validation", **check_params: Any
    ) -> Any:
        """scikit-learn 1.6's ``validate_data`` on older versions: the estimator's method."""
        return estimator._validate_data(X, y, **check_params)


__all__ = ["validate_data"]
