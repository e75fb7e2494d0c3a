"""``NNEstimator``: what the classifier and the regressor share: the constructor parameters
(the config's keys), ``fit`` / ``partial_fit`` / warm start through ``training``, the forward
pass on new rows, and the fitted attributes in scikit-learn's naming."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from nnctl.core import forward_layers
from nnctl.data import apply_steps, prepare_x
from nnctl.sklearn import rundir, settings
from nnctl.sklearn.arrays import FLOAT_DTYPES, as_rows, check_weights, in_memory
from nnctl.sklearn.compat import validate_data
from nnctl.sklearn.training import Trained, go_on, start


class NNEstimator(BaseEstimator):
    """The parameters are the config's keys (docs/reference/config.md): ``hidden_layer_sizes``
    (the hidden part of ``layer_dims``), ``activation`` (the hidden layers': a name, or one per
    hidden layer), ``optimizer`` with its hyperparameters ``beta`` (momentum), ``beta1``,
    ``beta2``, ``epsilon`` (adam; None: the optimizer's default), ``learning_rate``,
    ``batch_size`` (None: the whole set), ``epochs`` or ``iterations`` (exactly one),
    ``lr_decay``, ``l2``, ``dropout`` (keep probabilities), ``early_stopping`` (True:
    {patience: 10}, or the config's mapping), ``validation_fraction``, ``normalize``, ``init``,
    ``dtype`` and ``random_state`` (the config's ``seed``; None: seed 1). The output layer
    follows from the task."""

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
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.beta = beta
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.epochs = epochs
        self.iterations = iterations
        self.lr_decay = lr_decay
        self.l2 = l2
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.normalize = normalize
        self.init = init
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start

    # ------------------------------------------------------------------ what subclasses say

    def _targets(
        self, y: Any, reset: bool, classes: Any = None, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, int, str]:
        """y -> (targets as the data file holds them, output units, output activation);
        ``weights``: the rows' checked sample weights, or None."""
        raise NotImplementedError

    def _weigh_classes(
        self, y: np.ndarray, weights: np.ndarray | None, incremental: bool
    ) -> np.ndarray | None:
        """The rows' weights with the classes' (a classifier's ``class_weight``) multiplied in."""
        return weights

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NNEstimator:
        """Trains on X: (m, n_features) rows and y: (m,) labels (or (m,) / (m, n_out) targets);
        from the start, or with ``warm_start`` on from the last fit for ``epochs`` (or
        ``iterations``) more, with the same parameters and optimizer state.
        ``sample_weight``: (m,) non-negative weights, not all zero (None: all 1). Each
        mini-batch's loss is the weighted mean of its examples' losses (sum w l / sum w, as
        scikit-learn's MLP), the L2 term is divided by the batch's sum of weights, and the
        normalization statistics and the validation loss are weighted too: in a full batch,
        an integer weight k trains as k copies of the row (docs/guides/scikit-learn.md)."""
        going_on = bool(self.warm_start) and hasattr(self, "_trained")
        return self._fit(X, y, going_on=going_on, incremental=False, sample_weight=sample_weight)

    def _fit(
        self,
        X: Any,
        y: Any,
        *,
        going_on: bool,
        incremental: bool,
        classes: Any = None,
        sample_weight: Any = None,
    ) -> NNEstimator:
        X, y = validate_data(
            self,
            X,
            y,
            reset=not going_on,
            dtype=FLOAT_DTYPES,
            multi_output=self._task == "regression",
            y_numeric=self._task == "regression",
        )
        weights = check_weights(sample_weight, X)
        targets, n_out, output = self._targets(
            y, reset=not going_on, classes=classes, weights=weights
        )
        weights = self._weigh_classes(y, weights, incremental)
        name = type(self).__name__
        raw = settings.config_dict(self.get_params(), n_out, output, name)
        if incremental and not going_on:
            raw.pop("iterations", None)
            raw["epochs"] = 1  # partial_fit: one pass over the rows it is given
        cfg = settings.resolve_config(raw, name)
        rows = as_rows(X)
        ds = in_memory(
            rows, targets, cfg.dtype, self._task, len(getattr(self, "classes_", ())), weights
        )
        if going_on:
            more_epochs = 1 if incremental else cfg.epochs
            more_steps = None if incremental else cfg.iterations
            trained = go_on(self._trained, cfg, ds, epochs=more_epochs, iterations=more_steps)
            self._one_run = False  # several calls: no single config trains the same parameters
        else:
            trained = start(cfg, ds)
            self._one_run = not incremental
        self._trained = trained
        # references to the arrays fit was given, for save_run (left out of pickles)
        self._data = (rows, targets)
        self._weighted = weights is not None and not np.all(weights == 1)
        self._fitted_attributes(trained)
        result = trained.result
        if result.status != "complete":
            warnings.warn(f"{name}: {result.status}: {result.message}", UserWarning, stacklevel=3)
        return self

    def _fitted_attributes(self, trained: Trained) -> None:
        params = trained.result.params
        self.coefs_ = [np.array(W.T) for W in params.Ws]
        self.intercepts_ = [np.array(b.reshape(-1)) for b in params.bs]
        self.loss_curve_ = list(trained.result.costs)
        self.n_iter_ = int(trained.result.epochs)
        self.n_layers_ = len(trained.cfg.layer_dims)
        self.out_activation_ = trained.cfg.activations[-1]

    def __getstate__(self) -> dict:
        # a pickle holds the fit, not the training set it was fitted on
        state = super().__getstate__()
        state.pop("_data", None)
        return state

    # ------------------------------------------------------------------ predicting

    def _outputs(self, X: Any) -> np.ndarray:
        """The output layer's activations AL.T: (m, n_L) for rows X: (m, n_features)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        cfg = self._trained.cfg
        A = prepare_x(as_rows(X), self._trained.divide_by, cfg.float_type)
        A = apply_steps(A, self._trained.steps)
        with np.errstate(over="ignore", invalid="ignore"):
            AL = forward_layers(self._trained.result.params, A, cfg.arch)[0]
        return AL.T

    # ------------------------------------------------------------------ run directories

    def save_run(self, runs_dir: Any) -> Any:
        """Writes the fit as an ordinary run directory under ``runs_dir`` (``nnctl.runs``):
        its data (the arrays fit was given, as ``data.npz``), config, history, parameters and
        summary, scored as ``nnctl train`` scores a run. Returns the run's directory. Only an
        estimator trained by one ``fit`` call is one config's run (warm start and
        ``partial_fit`` are refused), and only without ``sample_weight`` (or with weights of
        ones): a run directory has no per-example weights, so ``nnctl train`` or ``resume``
        on it would train another network than the one saved."""
        check_is_fitted(self)
        return rundir.save_run(self, runs_dir)

    @classmethod
    def from_run(cls, run: Any) -> NNEstimator:
        """An estimator fitted to a run directory's parameters, with the parameters that give
        its config (its predictions are the run's)."""
        return rundir.from_run(cls, run)
