"""Runs as rows: listing and sorting them, and the columns a row is looked up by (``field``).

A row is a flat dict of one run's headline facts (``ROW_KEYS``), read from the run's typed
summary (``runs.RunSummary``); the run's resolved config is kept beside it, flattened to dotted
keys (``dataset.test_fraction``) as the summary records it, so filters and comparisons can name
any config key too, and any score (``val_accuracy``) or other summary field (``finished``).
Columns, sorts and filters (``filters``) all look a key up with ``field``; ``compare`` puts
runs side by side, ``remove`` deletes one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import RunSummary
from nnctl.runs.summary import METRICS
from nnctl.system import RunError, UsageError

ROW_KEYS = (
    "id",
    "name",
    "status",
    "created",
    "learning_rate",
    "iterations",
    "iterations_done",
    "final_cost",
    "train_accuracy",
    "test_accuracy",
    "test_mse",
    "test_r2",
    "seconds",
    "sweep",
)
"""The columns of ``nnctl runs list`` (JSON rows also carry ``run_dir``). Classifiers have
accuracies and null MSE / R²; regression runs the other way round. ``sweep``: the sweep a trial
belongs to (null for other runs)."""


@dataclass
class RunInfo:
    run_dir: Path
    row: dict[str, Any]
    config: dict[str, Any]  # flattened, dotted keys
    summary: RunSummary


def read_run(run_dir: Path) -> RunInfo:
    """One run as a row. A damaged summary raises RunError. The config is the one the summary
    recorded; for a summary from an earlier version it is read from the run's config file, and
    left empty when that no longer loads (e.g. written by another nnctl version)."""
    s = runs.read_summary(run_dir)
    config = runs.flat_config(run_dir, s)
    row = {
        "id": s.run_id or run_dir.name,
        "name": s.name,
        # a run whose training process is gone is stale, whatever its summary still says
        "status": "stale" if runs.is_stale(run_dir, s) else s.status,
        "created": s.created,
        "learning_rate": config.get("learning_rate"),
        "iterations": s.iterations if s.iterations is not None else config.get("iterations"),
        "iterations_done": s.iterations_done,
        "final_cost": s.final_cost,
        "train_accuracy": s.metric("train_accuracy"),
        "test_accuracy": s.metric("test_accuracy"),
        "test_mse": s.metric("test_mse"),
        "test_r2": s.metric("test_r2"),
        "seconds": s.seconds,
        "sweep": s.extra.get("sweep"),
    }
    return RunInfo(run_dir, row, config, s)


def list_runs(runs_dir: Path) -> tuple[list[RunInfo], list[str]]:
    """Every run under ``runs_dir``, oldest first, and one warning per run that could not be
    read (the listing goes on without it)."""
    infos, warnings = [], []
    for d in runs.iter_run_dirs(runs_dir):
        try:
            infos.append(read_run(d))
        except RunError as exc:
            warnings.append(str(exc))
    return infos, warnings


SCORE_KEYS = tuple(f"{split}_{m}" for split in ("train", "val", "test") for m in METRICS) + (
    "val_loss",
)
"""Every score a summary may hold; a column of one no run has is simply empty."""

LINK_KEYS = ("cv", "fold")
"""Columns that are not shown by default: the cv record a fold's run belongs to (``nnctl cv``)
and its fold (1 .. K); null for other runs. ``runs list --filter cv=ID``."""

DATE_KEYS = ("created", "finished")

# Summary fields that make sense in a cell (the nested ones, such as blas or dataset, do not).
_SUMMARY_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(RunSummary)
    if f.name
    not in ("blas", "dataset", "preprocessing", "resumed", "warnings", "scores", "config", "extra")
)


def field(info: RunInfo, key: str) -> Any:
    """A run's value for a column: a row key, a config key (dotted for nested ones), a score
    or a summary field; None when the run has none."""
    if key in info.row:
        return info.row[key]
    if key == "run_dir":
        return str(info.run_dir)
    if key in info.config:
        return info.config[key]
    if key in SCORE_KEYS:
        return info.summary.scores.get(key)
    if key in _SUMMARY_FIELDS:
        return getattr(info.summary, key)
    if key in LINK_KEYS:
        return info.summary.extra.get(key)
    return None


def _known_keys(infos: list[RunInfo]) -> list[str]:
    keys = list(ROW_KEYS) + [k for k in SCORE_KEYS if k not in ROW_KEYS]
    keys += [k for k in _SUMMARY_FIELDS if k not in keys and k != "run_id"]
    keys += [k for k in LINK_KEYS if k not in keys]
    seen = set(keys)
    for info in infos:
        for k in info.config:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    return keys


def check_columns(spec: str, infos: list[RunInfo]) -> list[str]:
    """``--columns id,name,val_accuracy`` as a list of keys; an unknown one raises UsageError
    with the closest valid key."""
    columns = [c.strip() for c in spec.split(",") if c.strip()]
    if not columns:
        raise UsageError(
            "--columns: give one or more keys separated by commas, "
            "e.g. --columns id,name,test_accuracy"
        )
    for c in columns:
        check_key(c, infos, "--columns")
    return columns


def check_key(key: str, infos: list[RunInfo], option: str) -> None:
    """Refuses a key no run has (for ``option``), naming the closest valid one."""
    import difflib

    if not infos:  # nothing to sort or match: a script may filter before any run exists
        return
    valid = _known_keys(infos)
    if key not in valid and key != "run_dir":
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"{option} {key}: unknown column{hint}; valid: {', '.join(valid)}")


def sort_runs(infos: list[RunInfo], spec: str) -> list[RunInfo]:
    """Sorts by a column or config key; ``-key`` for descending. Runs without a value for the
    key (e.g. no test set) go last in both directions."""
    descending = spec.startswith("-")
    key = spec.lstrip("-+")
    check_key(key, infos, "--sort")
    have = [i for i in infos if field(i, key) is not None]
    missing = [i for i in infos if field(i, key) is None]

    def sort_key(info: RunInfo) -> tuple:
        v = field(info, key)
        # Mixed types (a number in one run, a string in another) still sort: numbers first.
        return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))

    return sorted(have, key=sort_key, reverse=descending) + missing
