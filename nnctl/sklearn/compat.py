"""What differs between the scikit-learn versions the extra allows (1.4 and later):
``validate_data`` is a function from 1.6, a method (``_validate_data``) before it;
``_check_sample_weight``'s non-negativity flag is ``ensure_non_negative`` from 1.6,
``only_non_negative`` before it."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.utils.validation import _check_sample_weight

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(
        estimator: Any, X: Any = "no_validation", y: Any = "no_validation", **check_params: Any
    ) -> Any:
        """scikit-learn 1.6's ``validate_data`` on older versions: the estimator's method."""
        return estimator._validate_data(X, y, **check_params)


_NON_NEGATIVE = (
    "ensure_non_negative"
    if "ensure_non_negative" in inspect.signature(_check_sample_weight).parameters
    else "only_non_negative"
)


def check_sample_weight(sample_weight: Any, X: Any) -> np.ndarray:
    """scikit-learn's ``_check_sample_weight``: one finite, non-negative float64 weight per row
    of X (its ValueErrors), under the flag's name of the installed version."""
    return _check_sample_weight(sample_weight, X, dtype=np.float64, **{_NON_NEGATIVE: True})


__all__ = ["check_sample_weight", "validate_data"]
