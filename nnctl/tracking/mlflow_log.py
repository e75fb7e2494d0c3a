"""Runs written to an MLflow tracking store: one MLflow run per nnctl run, named by its run
id, with the flattened config as params, its curves as metrics with their steps, its final
scores, tags saying where it came from, its files as artifacts and the model as a pyfunc
(``nnctl.tracking.pyfunc``); a group of runs (a sweep) as a parent run with its runs nested.

The only importer of MLflow besides ``pyfunc``. Before MLflow is imported its environment is
set so that it reports no telemetry and gives up on an unreachable server at once (a user's
own setting of these variables wins)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnctl.runs import PARAMS_FILE
from nnctl.tracking.record import RunRecord
from nnctl.tracking.spec import TrackingSpec

QUIET_ENV = {
    # MLflow's usage telemetry (MLflow >= 3.2 sends it unless told not to)
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    # an unreachable server: one attempt, then the warning (runs track brings the run in later)
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # no progress bars on the user's terminal (artifact copies)
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # a model's pip requirements are not resolved against a package index (pip --dry-run)
    "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true",
    # no warning when git is absent (MLflow reads the source's commit when it can)
    "GIT_PYTHON_REFRESH": "quiet",
}
PARAMS_PER_BATCH = 100  # MLflow's limits per log_batch call
METRICS_PER_BATCH = 1000
PARAM_VALUE_CHARS = 6000
FINAL = "final/"  # the final scores' metric names: final/test_accuracy, ...


def import_mlflow() -> Any:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    import mlflow

    return mlflow


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's and alembic's log lines and warnings (a store's first migration, a model
    without a signature) kept off the user's terminal: nnctl says what happened in one line."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic", "git")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@contextlib.contextmanager
def _store(uri: str) -> Iterator[Any]:
    """The MLflow client of ``uri``, with the fluent API pointed there too (log_model needs
    it) and pointed back afterwards, so a caller's own MLflow setting is left as it was."""
    if uri.startswith("file:"):
        # MLflow 3.x keeps its file store in maintenance mode and refuses it unless told
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow = import_mlflow()
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _quiet(), _use_tracking_uri(uri):
        yield mlflow, mlflow.MlflowClient(uri)


def _experiment(client: Any, spec: TrackingSpec) -> str:
    """The experiment's id, created if new (a local store's artifacts under its root)."""
    exp = client.get_experiment_by_name(spec.experiment)
    if exp is not None:
        return exp.experiment_id
    location = spec.artifact_root.as_uri() if spec.artifact_root is not None else None
    try:
        return client.create_experiment(spec.experiment, artifact_location=location)
    except Exception:  # created meanwhile by another process
        exp = client.get_experiment_by_name(spec.experiment)
        if exp is None:
            raise
        return exp.experiment_id


def _drop_earlier(client: Any, exp_id: str, tag: str, value: str) -> None:
    """Deletes the runs tracked before under the same nnctl id: the store shows a run as its
    directory is now (a run resumed and trained further, a run tracked again)."""
    for run in client.search_runs([exp_id], filter_string=f"tags.`{tag}` = '{value}'"):
        for model in client.search_logged_models(
            experiment_ids=[exp_id], filter_string=f"source_run_id = '{run.info.run_id}'"
        ):
            client.delete_logged_model(model.model_id)
        client.delete_run(run.info.run_id)


def _log_values(client: Any, run_id: str, params: dict[str, Any], metrics: list[Any]) -> None:
    from mlflow.entities import Param

    items = [
        Param(k, ("null" if v is None else str(v))[:PARAM_VALUE_CHARS]) for k, v in params.items()
    ]
    for i in range(0, len(items), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[i : i + PARAMS_PER_BATCH])
    for i in range(0, len(metrics), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metrics[i : i + METRICS_PER_BATCH])


def _metrics(record: RunRecord) -> list[Any]:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    out = [
        Metric(name, value, now, step)
        for name, curve in record.curves.items()
        for step, value in curve
    ]
    last = max((s for c in record.curves.values() for s, _ in c), default=0)
    out += [Metric(FINAL + k, v, now, last) for k, v in record.scores.items()]
    return out


def _log_model(mlflow: Any, record: RunRecord) -> None:
    """The run as a pyfunc model named ``model``, its files as the model's ``run`` artifact."""
    import mlflow.pyfunc  # first: its import adds warning filters of its own
    import numpy as np

    import nnctl

    warnings.simplefilter("ignore")  # inside _quiet's catch_warnings: restored after
    from nnctl.tracking.pyfunc import RUN_ARTIFACT, RUN_FILES, NnctlModel

    with tempfile.TemporaryDirectory(prefix="nnctl-model-") as tmp:
        copy = Path(tmp) / record.run_id  # named as the run: its summary names it
        copy.mkdir()
        for name in RUN_FILES:
            shutil.copy2(record.run_dir / name, copy / name)
        mlflow.pyfunc.log_model(
            name="model",
            python_model=NnctlModel(),
            artifacts={RUN_ARTIFACT: str(copy)},
            # given, not inferred: inferring loads the model in a subprocess (seconds)
            pip_requirements=[
                f"nnctl=={nnctl.__version__}",
                f"numpy=={np.__version__}",
                "pandas",
                f"mlflow-skinny=={mlflow.__version__}",
            ],
        )


def _log_one(mlflow: Any, client: Any, exp_id: str, record: RunRecord, parent: str | None) -> str:
    _drop_earlier(client, exp_id, "nnctl.run_id", record.run_id)
    tags = dict(record.tags)
    with mlflow.start_run(
        experiment_id=exp_id,
        run_name=record.run_id,
        tags=tags,
        parent_run_id=parent,
        log_system_metrics=False,
    ) as active:
        run_id = active.info.run_id
        _log_values(client, run_id, record.params, _metrics(record))
        for path in record.artifacts:
            client.log_artifact(run_id, str(path))
        if record.summary.status == "complete" and (record.run_dir / PARAMS_FILE).is_file():
            _log_model(mlflow, record)
    status = "FINISHED" if record.summary.status == "complete" else "FAILED"
    if status != "FINISHED":
        client.set_terminated(run_id, status)
    return run_id


def log_runs(
    records: list[RunRecord],
    spec: TrackingSpec,
    group: dict[str, Any] | None = None,
) -> list[str]:
    """Writes each run to ``spec``'s store; with ``group`` ({name, tags, params, metrics}) as
    the children of one parent run named ``group['name']`` (a sweep). Returns the MLflow run
    ids (the parent's first). Raises whatever the store raises."""
    assert spec.mlflow_uri is not None
    with _store(spec.mlflow_uri) as (mlflow, client):
        exp_id = _experiment(client, spec)
        ids: list[str] = []
        parent = None
        if group is not None:
            _drop_earlier(client, exp_id, "nnctl.sweep_id", group["name"])
            tags = {"nnctl.sweep_id": group["name"], **group.get("tags", {})}
            with mlflow.start_run(
                experiment_id=exp_id, run_name=group["name"], tags=tags, log_system_metrics=False
            ) as active:
                parent = active.info.run_id
                from mlflow.entities import Metric

                now = int(time.time() * 1000)
                metrics = [Metric(k, v, now, 0) for k, v in group.get("metrics", {}).items()]
                _log_values(client, parent, group.get("params", {}), metrics)
                for path in group.get("artifacts", []):
                    client.log_artifact(parent, str(path))
            ids.append(parent)
        for record in records:
            ids.append(_log_one(mlflow, client, exp_id, record, parent))
        return ids
