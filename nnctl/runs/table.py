"""Runs as rows: listing, sorting, filtering, comparing and removing run directories.

A row is a flat dict of one run's headline facts (``ROW_KEYS``), read from the run's typed
summary (``runs.RunSummary``); the run's resolved config is kept beside it, flattened to dotted
keys (``dataset.test_fraction``) as the summary records it, so filters and comparisons can name
any config key too, and any score (``val_accuracy``) or other summary field (``finished``).
Columns, sorts and filters all look a key up with ``field``.

Dates: ``created`` and ``finished`` filter by time, against an ISO date or date-time (local
time unless it carries an offset) or a duration (``90m``, ``36h``, ``7d``, ``2w``), which stands
for that long ago: ``created<7d`` keeps the runs created more than seven days ago.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import operator
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import RunSummary
from nnctl.runs.summary import METRICS
from nnctl.system import ConfigError, RunError, UsageError

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
    return None


def _known_keys(infos: list[RunInfo]) -> list[str]:
    keys = list(ROW_KEYS) + [k for k in SCORE_KEYS if k not in ROW_KEYS]
    keys += [k for k in _SUMMARY_FIELDS if k not in keys and k != "run_id"]
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
            "--columns: give one or more keys separated by commas, e.g. --columns id,name,test_accuracy"
        )
    for c in columns:
        _check_key(c, infos, "--columns")
    return columns


def _check_key(key: str, infos: list[RunInfo], option: str) -> None:
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
    _check_key(key, infos, "--sort")
    have = [i for i in infos if field(i, key) is not None]
    missing = [i for i in infos if field(i, key) is None]

    def sort_key(info: RunInfo) -> tuple:
        v = field(info, key)
        # Mixed types (a number in one run, a string in another) still sort: numbers first.
        return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))

    return sorted(have, key=sort_key, reverse=descending) + missing


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime | None = None) -> datetime | None:
    """A filter's point in time: an ISO date or date-time (local time unless it has an offset)
    or a duration meaning that long before ``now`` (``7d``, ``36h``, ``90m``, ``2w``, ``30s``).
    None when ``text`` is neither."""
    now = now or datetime.now().astimezone()
    m = _DURATION.match(text.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.astimezone()  # naive: the reader's local time


def _as_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.astimezone()


_FILTER = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|>|<)(.*)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _matches(value: Any, op: str, wanted: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(wanted, str) and value is not None:
            # Strings match as shell patterns, so --filter 'name=lr-*' works.
            hit = fnmatch.fnmatchcase(str(value), wanted)
        else:
            hit = value == wanted
        return hit if op == "=" else not hit
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return _OPS[op](value, wanted)


def filter_runs(infos: list[RunInfo], specs: list[str]) -> list[RunInfo]:
    """Keeps the runs matching every ``KEY<op>VALUE`` (op: = != < <= > >=). VALUE is read as
    YAML (``0.1`` is a number, ``complete`` a string); ``=`` on strings takes shell patterns."""
    from nnctl.config import parse_yaml

    out = infos
    for spec in specs:
        m = _FILTER.match(spec)
        if not m:
            raise UsageError(
                f"--filter {spec!r}: expected KEY=VALUE (or !=, <, <=, >, >=), "
                "e.g. --filter status=complete or --filter test_accuracy>=0.9"
            )
        key, op, text = m.group(1), m.group(2), m.group(3).strip()
        _check_key(key, infos, "--filter")
        if key in DATE_KEYS:
            when = parse_when(text)
            if when is None:
                raise UsageError(
                    f"--filter {spec!r}: {key} compares with a date (2026-11-26, 2026-11-26T10:25) or a "
                    f"duration ago (90m, 36h, 7d, 2w), got {text!r}"
                )
            compare = _OPS[op]
            out = [
                i for i in out if (t := _as_time(field(i, key))) is not None and compare(t, when)
            ]
            continue
        try:
            wanted = parse_yaml(text, f"--filter {spec}") if text else None
        except ConfigError:
            wanted = text
        if op not in ("=", "!=") and not isinstance(wanted, (int, float)):
            raise UsageError(f"--filter {spec!r}: {op} needs a number, got {text!r}")
        out = [i for i in out if _matches(field(i, key), op, wanted)]
    return out


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
    _check_key(key, infos, "--against")
    _check_key(metric, infos, "--metric")
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


def check_removable(run_dir: Path) -> RunSummary:
    """Refuses anything but a run directory: its summary must parse and name this directory
    as its run, so ``rm`` cannot delete an unrelated folder that happens to hold a JSON file."""
    if run_dir.is_symlink() or not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run directory (refusing to delete)")
    s = runs.read_summary(run_dir)
    if s.run_id != run_dir.resolve().name:
        raise RunError(
            f"{run_dir}: {runs.SUMMARY_FILE} does not name this directory as its run; not a run "
            "directory (refusing to delete)"
        )
    return s


def remove_run(run_dir: Path) -> None:
    """Deletes a run directory. The summary goes first: that one unlink makes the directory
    stop being a run, so an interrupted delete never leaves a half-deleted "run" in listings."""
    check_removable(run_dir)
    try:
        runs.summary_file(run_dir).unlink()
        shutil.rmtree(run_dir)
    except OSError as exc:
        raise RunError(f"{run_dir}: cannot delete: {exc.strerror or exc}") from None
