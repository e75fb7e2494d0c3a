"""Estimators as run directories: ``save_run`` writes a fit as the run ``nnctl train`` would
have made of the same arrays (its data as ``data.npz`` inside the directory, named by its
config), and ``from_run`` makes a fitted estimator of any complete run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.commands import record_result
from nnctl.config import dump_config, load_config
from nnctl.sklearn.settings import DATA_FILE, params_from_config
from nnctl.sklearn.training import Trained
from nnctl.training import TrainResult, TrainState, batch_count, bind, total_iterations


def save_run(est: Any, runs_dir: Any) -> Path:
    """``est``'s fit as a new run directory under ``runs_dir``; returns its path. The data
    file holds x (the rows fit was given), y (class indices, or the targets) and, for a
    classifier, classes (the labels' names). The config read back from the directory is bound
    to that file exactly as ``nnctl train`` binds it, and scored as it scores a run."""
    if not getattr(est, "_one_run", False):
        raise ValueError(
            f"{type(est).__name__}: save_run writes the run of one fit call; this estimator was "
            "trained in several (warm_start or partial_fit) or loaded from a run"
        )
    if getattr(est, "_weighted", False):
        raise ValueError(
            f"{type(est).__name__}: save_run writes a run that nnctl train and resume replay "
            "from its config and data, and a run has no per-example weights; this fit used "
            "sample_weight or class_weight, so its run would train another network (fit "
            "without them to save a run, or pickle the estimator)"
        )
    if getattr(est, "_data", None) is None:
        raise ValueError(
            f"{type(est).__name__}: save_run needs the arrays of the fit, which a pickle does "
            "not keep; save the run before pickling, or fit again"
        )
    rows, targets = est._data
    trained: Trained = est._trained
    run_dir = runs.create_run_dir(Path(runs_dir))
    lock = runs.RunLock.acquire(run_dir)
    summary = None
    try:
        arrays = {"x": rows, "y": targets}
        if hasattr(est, "classes_"):
            names = est.classes_
            arrays["classes"] = names.astype(str) if names.dtype.kind == "O" else names
        with open(run_dir / DATA_FILE, "wb") as f:
            np.savez(f, **arrays)
        cfg = dataclasses.replace(trained.cfg, dataset={"train": DATA_FILE})
        runs.save_config_text(run_dir, dump_config(cfg))
        bound = bind(load_config(run_dir / runs.CONFIG_FILE))
        cfg, ds = bound.cfg, bound.dataset
        m = int(ds.X_train.shape[1])
        summary = runs.RunSummary.new(run_dir.name, cfg, ds, total_iterations(cfg, m))
        summary.owner = runs.owner_record()
        result = trained.result
        record_result(cfg, ds, summary, result)
        complete = result.status == "complete"
        state = trained.state
        keep = state is not None and (
            not complete or state.needs_checkpoint(cfg, batch_count(cfg, m))
        )
        runs.write_run(
            run_dir,
            summary,
            history=runs.history_rows(cfg, result, m),
            params=result.params.to_dict() if complete else None,
            checkpoint=state if keep else None,
        )
    except BaseException as exc:
        if summary is not None:
            runs.mark_failed(run_dir, summary, exc)
        raise
    finally:
        lock.release()
    return run_dir


def _classes(run: Any) -> np.ndarray:
    """A classifier run's class labels: those its own data file names (a run ``save_run``
    wrote), else the run's class names: numbers 0 .. K-1 when they are the names nnctl gives
    numeric labels ('0', '1', ...), so that labels fit with numbers predict numbers."""
    data = run.run_dir / DATA_FILE
    if run.config.dataset.get("train") == DATA_FILE and data.is_file():
        with np.load(data, allow_pickle=False) as z:
            if "classes" in z.files:
                return z["classes"]
    names = list(run.preprocessing.classes)
    if names == [str(i) for i in range(len(names))]:
        return np.arange(len(names))
    return np.asarray(names)


def from_run(cls: type, run: Any) -> Any:
    """An estimator of class ``cls`` fitted to the complete run ``run`` (its directory, or an
    id as ``nnctl`` commands take it): its parameters, normalization and history; it can go
    on training (``warm_start``) when the run has the state for it."""
    path = Path(run)
    run_dir = path if path.is_dir() else runs.find_run(str(run))
    loaded = runs.load_run(run_dir)
    cfg, summary = loaded.config, loaded.summary
    est = cls(**params_from_config(cfg))
    if loaded.task != est._task:
        raise ValueError(
            f"{run_dir}: a {loaded.task} run; load it with the "
            f"{'NNRegressor' if loaded.task == 'regression' else 'NNClassifier'}"
        )
    h = runs.read_history_table(run_dir)
    costs = h.costs.tolist()
    m = int((summary.dataset or {}).get("n_train") or 1)
    if runs.has_checkpoint(run_dir):
        state = runs.load_checkpoint(run_dir, cfg, m)
    else:
        val = [
            (int(e) - 1, float(v), float(a))
            for e, v, a in zip(h.epochs, h.val_loss, h.val_accuracy)
        ]
        state = TrainState.from_params(cfg, loaded.params.copy(), costs, val)
        if state.needs_checkpoint(cfg, batch_count(cfg, m)):
            state = None
    pre = loaded.preprocessing
    result = TrainResult(
        loaded.params,
        costs,
        "complete",
        float(summary.seconds or 0.0),
        epochs=int(summary.epochs_done or 0),
    )
    est._trained = Trained(cfg, list(pre.steps), result, state, m, float(pre.divide_by))
    est._one_run = False
    est.n_features_in_ = int(cfg.layer_dims[0])
    if est._task == "regression":
        est._n_outputs = int(cfg.layer_dims[-1])
    else:
        est.classes_ = _classes(loaded)
    est._fitted_attributes(est._trained)
    return est
