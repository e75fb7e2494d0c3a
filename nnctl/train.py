"""The training loop, and ``train_run``: config -> dataset -> model -> loop -> run directory."""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import nnctl
from nnctl import runs
from nnctl.config import Config, dump_config
from nnctl.data import Dataset, load_dataset
from nnctl.errors import ConfigError, RunError
from nnctl.metrics import accuracy, predict_labels
from nnctl.model import Architecture, Params, cost_and_gradients, initialize_parameters, predict_proba

OnIteration = Callable[[int, float], None]
"""Called after every iteration with (iteration index, cost before that iteration's update)."""


@dataclass
class TrainResult:
    params: Params
    costs: list[float]  # costs[i]: cost at iteration i, before its update (as the course prints)
    status: str  # "complete", "diverged" or "interrupted"
    seconds: float
    message: str = ""


def fit(cfg: Config, X: np.ndarray, Y: np.ndarray, on_iteration: OnIteration | None = None) -> TrainResult:
    """Full-batch gradient descent for ``cfg.iterations`` steps. X: (n_x, m), Y: (n_L, m).

    Ctrl-C (KeyboardInterrupt) ends the loop cleanly: the result says "interrupted" and holds
    the parameters after the last complete iteration. A NaN or infinite cost stops at once
    with status "diverged".
    """
    from nnctl.fullbatch import fast_path_applies, fit_fullbatch

    if fast_path_applies(cfg, X):
        return fit_fullbatch(cfg, X, Y, on_iteration)
    Y = Y.astype(X.dtype, copy=False)  # integer labels would upcast float32 gradients to float64
    params = initialize_parameters(cfg.layer_dims, cfg.init, cfg.seed, np.dtype(cfg.dtype).type)
    arch = Architecture.build(cfg.activations, cfg.loss)
    lr = cfg.learning_rate
    costs: list[float] = []
    status, message = "complete", ""
    start = time.perf_counter()
    try:
        for i in range(cfg.iterations):
            cost, dWs, dbs = cost_and_gradients(params, X, Y, arch)
            if not math.isfinite(cost):
                status = "diverged"
                message = (
                    f"the cost became {cost} at iteration {i}; "
                    f"try a smaller learning_rate than {lr}"
                )
                break
            # Update in place only after every gradient is computed, so an interrupt between
            # iterations never leaves a half-updated network.
            for W, b, dW, db in zip(params.Ws, params.bs, dWs, dbs):
                W -= lr * dW
                b -= lr * db
            costs.append(cost)
            if on_iteration is not None:
                on_iteration(i, cost)
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"interrupted after {len(costs)} of {cfg.iterations} iterations"
    return TrainResult(params, costs, status, time.perf_counter() - start, message)


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    summary: dict[str, Any]
    result: TrainResult = field(repr=False)

    @property
    def status(self) -> str:
        return self.summary["status"]


def split_accuracy(params: Params, cfg: Config, X: np.ndarray, Y: np.ndarray) -> float:
    arch = Architecture.build(cfg.activations, cfg.loss)
    return accuracy(predict_labels(predict_proba(params, X, arch)), Y)


def _check_labels(cfg: Config, ds: Dataset) -> None:
    if cfg.activations[-1] == "sigmoid" and len(ds.classes) != 2:
        raise ConfigError(
            f"{cfg.source}: a sigmoid output does binary classification, but the dataset has "
            f"{len(ds.classes)} classes ({', '.join(ds.classes)})"
        )


def train_run(
    cfg: Config,
    runs_dir: Path,
    on_start: Callable[[str, Path, Config, Dataset], None] | None = None,
    on_iteration: OnIteration | None = None,
) -> RunOutcome:
    """Loads the data, trains and writes the run directory. Nothing is created on disk until
    the config and data have been validated. Raises ConfigError, DataError or RunError."""
    ds = load_dataset(cfg.dataset, cfg.dtype)
    cfg = cfg.with_input_dim(ds.n_features)
    _check_labels(cfg, ds)

    run_dir = runs.create_run_dir(runs_dir)
    run_id = run_dir.name
    summary: dict[str, Any] = {
        "run_id": run_id,
        "name": cfg.name,
        "status": "running",
        "created": runs.utc_now(),
        "config_file": cfg.source,
        "nnctl_version": nnctl.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "layer_dims": cfg.layer_dims,
        "activations": cfg.activations,
        "loss": cfg.loss,
        "dtype": cfg.dtype,
        "dataset": {"sources": ds.sources, "n_train": int(ds.X_train.shape[1]),
                    "n_test": None if ds.X_test is None else int(ds.X_test.shape[1]),
                    "n_features": ds.n_features},
        "preprocessing": ds.preprocessing(),
        "iterations": cfg.iterations,
    }
    try:
        runs.write_text(run_dir / "config.yaml", dump_config(cfg))
        runs.write_json(run_dir / "summary.json", summary)
        if on_start is not None:
            on_start(run_id, run_dir, cfg, ds)
        result = fit(cfg, ds.X_train, ds.Y_train, on_iteration)
        summary.update(
            status=result.status,
            finished=runs.utc_now(),
            message=result.message or None,
            iterations_done=len(result.costs),
            seconds=round(result.seconds, 4),
            final_cost=result.costs[-1] if result.costs else None,
            train_accuracy=None,
            test_accuracy=None,
        )
        runs.write_text(
            run_dir / "history.csv", runs.history_csv(enumerate(result.costs))
        )
        if result.status == "complete":
            summary["train_accuracy"] = split_accuracy(result.params, cfg, ds.X_train, ds.Y_train)
            if ds.X_test is not None:
                summary["test_accuracy"] = split_accuracy(result.params, cfg, ds.X_test, ds.Y_test)
            runs.write_params(run_dir / "params.npz", result.params.to_dict())
        runs.write_json(run_dir / "summary.json", summary)
    except BaseException as exc:
        # Leave the directory visibly unfinished rather than looking complete.
        summary.update(status="failed", finished=runs.utc_now(), message=str(exc) or type(exc).__name__)
        try:
            runs.write_json(run_dir / "summary.json", summary)
        except RunError:
            pass
        raise
    return RunOutcome(run_id, run_dir, summary, result)
