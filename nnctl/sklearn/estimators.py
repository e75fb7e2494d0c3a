"""``NNClassifier`` and ``NNRegressor``: the estimators, each its task's targets, output layer
and predictions on top of ``base.NNEstimator``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets

from nnctl.core import head_for
from nnctl.sklearn.arrays import encode_labels, regression_targets
from nnctl.sklearn.base import NNEstimator


class NNClassifier(ClassifierMixin, NNEstimator):
    """A classifier: a sigmoid output unit for two classes, a softmax output of one unit per
    class for more (the config's binary and categorical cross-entropy). Labels may be any
    sortable values (numbers or strings); ``classes_`` holds them sorted, and the network is
    trained on their indices 0 .. K-1. ``class_weight``: None, ``"balanced"`` (n / (K *
    bincount(y)) over the rows fit is given) or a dict from label to a positive weight (a label
    left out weighs 1); each row then weighs its class's weight, times its ``sample_weight``
    when both are given, in training and in the validation loss."""

    _task = "classification"

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        optimizer: str = "adam",
        learning_rate: float = 0.001,
        beta: float | None = None,
        beta1: float | None = None,
        beta2: float | None = None,
        epsilon: float | None = None,
        batch_size: int | None = 200,
        epochs: int | None = 200,
        iterations: int | None = None,
        lr_decay: Any = None,
        l2: float = 0.0,
        dropout: Any = None,
        early_stopping: Any = False,
        validation_fraction: float = 0.0,
        normalize: str = "auto",
        init: str = "he",
        dtype: str = "float64",
        random_state: Any = None,
        warm_start: bool = False,
        class_weight: Any = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            optimizer=optimizer,
            learning_rate=learning_rate,
            beta=beta,
            beta1=beta1,
            beta2=beta2,
            epsilon=epsilon,
            batch_size=batch_size,
            epochs=epochs,
            iterations=iterations,
            lr_decay=lr_decay,
            l2=l2,
            dropout=dropout,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            normalize=normalize,
            init=init,
            dtype=dtype,
            random_state=random_state,
            warm_start=warm_start,
        )
        self.class_weight = class_weight

    def _weigh_classes(
        self, y: np.ndarray, weights: np.ndarray | None, incremental: bool
    ) -> np.ndarray | None:
        """``class_weight`` (None, ``"balanced"``: scikit-learn's n / (K * bincount(y)) over
        these rows, or a dict from label to a positive weight, a label left out weighing 1)
        as per-row weights, times ``weights`` (the sample weights) when both are given."""
        from sklearn.utils.class_weight import compute_class_weight

        cw = self.class_weight
        if cw is None:
            return weights
        if cw == "balanced" and incremental:
            raise ValueError(
                "class_weight 'balanced' counts the classes of the whole training set, which "
                "partial_fit never sees; give class_weight as a dict"
            )
        if isinstance(cw, dict):
            known = set(self.classes_.tolist())
            missing = [k for k in cw if k not in known]
            if missing:
                raise ValueError(
                    f"class_weight: {missing[0]!r} is not a class of y "
                    f"(classes: {', '.join(map(str, self.classes_.tolist()[:10]))})"
                )
            bad = [v for v in cw.values() if not (np.isfinite(v) and v > 0)]
            if bad:
                raise ValueError(
                    f"class_weight: weights must be positive finite numbers, got {bad[0]!r}"
                )
        elif cw != "balanced":
            raise ValueError(f"class_weight: expected 'balanced', a dict or None, got {cw!r}")
        per_class = compute_class_weight(cw, classes=self.classes_, y=y)
        per_row = per_class[np.searchsorted(self.classes_, y)].astype(np.float64)
        return per_row if weights is None else per_row * weights

    def _targets(
        self, y: Any, reset: bool, classes: Any = None, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, int, str]:
        check_classification_targets(y)
        if reset:
            found = np.unique(y if classes is None else np.asarray(classes))
            if found.size < 2:
                raise ValueError(
                    f"{type(self).__name__}: y has {found.size} class "
                    f"({', '.join(map(str, found.tolist()))}); a classifier needs samples of "
                    "at least 2 classes"
                )
            weighing = np.unique(y[weights > 0]) if weights is not None else found
            if classes is None and weighing.size < 2:
                # a class whose samples all weigh 0 is not trained on: it could never be told
                raise ValueError(
                    f"{type(self).__name__}: only samples of {weighing.size} class "
                    f"({', '.join(map(str, weighing.tolist()))}) have a positive sample_weight; "
                    "a classifier needs samples of at least 2 classes"
                )
            self.classes_ = found
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} differs from the classes of the first "
                f"partial_fit, {self.classes_.tolist()}"
            )
        K = len(self.classes_)
        return (
            encode_labels(y, self.classes_),
            (1 if K == 2 else K),
            ("sigmoid" if K == 2 else "softmax"),
        )

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> NNClassifier:
        """One pass (epoch) over X: (m, n_features), y: (m,), going on from the last call.
        ``classes``: every label the calls will see, required on the first call.
        ``sample_weight``: (m,) weights of these rows, as in ``fit``."""
        first = not hasattr(self, "_trained")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(
            X,
            y,
            going_on=not first,
            incremental=True,
            classes=classes,
            sample_weight=sample_weight,
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """(m, K) probabilities, column k for ``classes_[k]``."""
        AL = self._outputs(X)
        return head_for(self._trained.cfg.loss).probabilities(AL.T).T

    def predict(self, X: Any) -> np.ndarray:
        """(m,) the most probable class of each row (a binary network: P(classes_[1]) >= 0.5,
        the library's threshold)."""
        from nnctl.core import DEFAULT_THRESHOLD

        AL = self._outputs(X)
        labels = head_for(self._trained.cfg.loss).labels(AL.T, DEFAULT_THRESHOLD)
        return self.classes_[np.asarray(labels).reshape(-1)]


class NNRegressor(RegressorMixin, NNEstimator):
    """A regressor: a linear output of one unit per target (mean squared error); y may be
    (m,) or (m, n_out)."""

    _task = "regression"

    def _targets(
        self, y: Any, reset: bool, classes: Any = None, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, int, str]:
        y = regression_targets(y)
        n_out = 1 if y.ndim == 1 else int(y.shape[1])
        if reset:
            self._n_outputs = n_out
        elif n_out != self._n_outputs:
            raise ValueError(
                f"y has {n_out} target(s) per row but the network was fitted to {self._n_outputs}"
            )
        return y, n_out, "linear"

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> NNRegressor:
        """One pass (epoch) over X: (m, n_features), y, going on from the last call.
        ``sample_weight``: (m,) weights of these rows, as in ``fit``."""
        return self._fit(
            X,
            y,
            going_on=hasattr(self, "_trained"),
            incremental=True,
            sample_weight=sample_weight,
        )

    def predict(self, X: Any) -> np.ndarray:
        """(m,) predictions, or (m, n_out) for a network fitted to several targets."""
        AL = self._outputs(X)
        return AL.reshape(-1) if self._n_outputs == 1 else AL

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output unit per target column
        return tags

    def _more_tags(self) -> dict[str, Any]:
        return {"multioutput": True}  # the same tag for scikit-learn < 1.6
