"""Runs side by side: ``runs compare`` (metrics, and the config keys that differ), ``plot
--against`` (a metric against a key), and the legend labels that tell runs apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnctl.runs.table import RunInfo, check_key, field
from nnctl.system import UsageError

METRIC_KEYS = (
    "status",
    "iterations_done",
    "final_cost",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_mse",
    "val_r2",
    "test_accuracy",
    "test_mse",
    "test_r2",
    "seconds",
)
"""What ``runs compare`` puts side by side (MSE and R² only when a regression run is among
them, accuracies only when a classifier is)."""


@dataclass
class Comparison:
    ids: list[str]
    names: list[str]
    metrics: list[tuple[str, list[Any]]]
    differing: list[tuple[str, list[Any]]]  # config keys whose values are not all equal


def compare_runs(infos: list[RunInfo]) -> Comparison:
    """Metrics side by side, and only the config keys whose values differ between the runs
    (a key missing from some run counts as differing)."""
    keys: list[str] = []
    for info in infos:
        keys += [k for k in info.config if k not in keys]
    differing = []
    for k in keys:
        values = [info.config.get(k) for info in infos]
        # A key unset (null) on every run is no difference, even if some older run lacks it.
        if any(v != values[0] for v in values[1:]) and any(v is not None for v in values):
            differing.append((k, values))
    metrics = [(k, [field(info, k) for info in infos]) for k in METRIC_KEYS]
    # A comparison of classifiers needs no regression rows, and the other way round.
    regression = [info.summary.task == "regression" for info in infos]
    skip = set() if any(regression) else {"test_mse", "test_r2", "val_mse", "val_r2"}
    skip |= {"train_accuracy", "test_accuracy", "val_accuracy"} if all(regression) else set()
    # validation rows only when some run held out a validation set
    skip |= {
        k
        for k in ("val_loss", "val_accuracy", "val_mse", "val_r2")
        if all(field(i, k) is None for i in infos)
    }
    metrics = [(k, v) for k, v in metrics if k not in skip]
    return Comparison(
        [i.row["id"] for i in infos], [i.row["name"] for i in infos], metrics, differing
    )


def metric_points(infos: list[RunInfo], key: str, metric: str) -> list[tuple[float, float, str]]:
    """(value of ``key``, value of ``metric``, status) of each complete or pruned run that has
    both as numbers: ``nnctl plot --against``. Raises UsageError for an unknown key."""
    check_key(key, infos, "--against")
    check_key(metric, infos, "--metric")
    points = []
    for info in infos:
        x, y = field(info, key), field(info, metric)
        if info.row["status"] in ("complete", "pruned") and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)
        ):
            points.append((float(x), float(y), str(info.row["status"])))
    if not points:
        raise UsageError(
            f"--against {key}: no complete run has numbers for both {key} and {metric}"
        )
    return points


def run_labels(infos: list[RunInfo]) -> list[str]:
    """Legend labels: the run name plus the config keys that differ between the runs, e.g.
    ``moons learning_rate=0.1``; the run id is added when labels would still collide."""
    cmp = compare_runs(infos)
    labels = []
    for j, info in enumerate(infos):
        parts = [str(info.row["name"])]
        parts += [f"{k}={_short(v[j])}" for k, v in cmp.differing if k != "name"]
        labels.append(" ".join(parts))
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({info.row['id']})" for lab, info in zip(labels, infos)]
    return labels


def _short(value: Any) -> str:
    return "-" if value is None else flow(value)


def flow(value: Any) -> str:
    """A value as YAML flow style, as a config file would write it: ``[relu, relu, sigmoid]``,
    ``{rate: 0.1, interval: 10}``, ``0.0075``, ``null``; a float in its shortest form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    return str(value)
