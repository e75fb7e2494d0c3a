"""``nnctl.list_runs``: the rows of ``nnctl runs list``, with its filters, sort, limit and
columns (``nnctl.runs``' table and filters), as a pandas DataFrame when pandas is installed,
else as a list of dicts. ``select_runs`` is the step both take: ``nnctl runs list`` draws its
table from the same selection."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.api.errors import NnctlWarning


def _specs(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class RunSelection:
    """The runs ``nnctl runs list`` (and ``list_runs``) shows, filtered, sorted and limited:
    ``runs_dir``, ``infos`` (each run's ``nnctl.runs.RunInfo``, in the listing's order) and
    ``keys`` (the ``columns`` asked for, checked; None: the default row)."""

    runs_dir: Path
    infos: list[Any]
    keys: list[str] | None

    def records(self, keys: list[str] | None = None) -> list[dict[str, Any]]:
        """One dict per run: the values of ``keys`` (default: the selection's ``keys``; when
        it has none, every row key and ``run_dir``), None where a run has no value."""
        from nnctl.runs import field

        keys = self.keys if keys is None else keys
        if keys is None:
            return [{**i.row, "run_dir": str(i.run_dir)} for i in self.infos]
        return [{k: field(i, k) for k in keys} for i in self.infos]


def select_runs(
    filter: str | list[str] | None = None,
    sort: str | None = None,
    *,
    limit: int | None = None,
    columns: str | list[str] | None = None,
    runs_dir: str | Path | None = None,
) -> RunSelection:
    """The runs ``list_runs`` lists (its arguments, below), before they become rows. A run
    directory that cannot be read is skipped with an ``NnctlWarning`` (``skipping ...``).
    Raises UsageError for an unknown key or a malformed filter, with ``runs list``'s message."""
    from nnctl.runs import check_columns, default_runs_dir, filter_runs, sort_runs
    from nnctl.runs import list_runs as table

    where = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    infos, skipped = table(where)
    for w in skipped:
        warnings.warn(f"skipping {w}", NnctlWarning, stacklevel=3)
    keys = None
    if columns is not None:
        keys = check_columns(columns if isinstance(columns, str) else ",".join(columns), infos)
    infos = filter_runs(infos, _specs(filter))
    if sort:
        infos = sort_runs(infos, sort)
    if limit is not None:
        infos = infos[:limit] if sort else infos[-limit:]
    return RunSelection(where, infos, keys)


def list_runs(
    filter: str | list[str] | None = None,
    sort: str | None = None,
    *,
    limit: int | None = None,
    columns: str | list[str] | None = None,
    runs_dir: str | Path | None = None,
    as_frame: bool | None = None,
) -> Any:
    """One row per run, oldest first, as ``nnctl runs list --format json`` lists them.

    ``filter``: ``KEY<op>VALUE`` (op: = != < <= > >=), or a list of them that all must match,
    e.g. ``"test_accuracy>=0.9"``, ``"name=lr-*"``, ``"created<7d"``. ``sort``: a column or
    config key, ``-key`` for descending. ``limit``: the first N after sorting, else the N
    newest. ``columns``: the keys of each row (any column, score, summary field or config
    key; default: the row keys and ``run_dir``).

    Returns a pandas DataFrame (``as_frame`` None: when pandas is installed) or a list of dicts.
    A run directory that cannot be read is skipped with an ``NnctlWarning``. Raises UsageError
    for an unknown key or a malformed filter, with ``runs list``'s message.
    """
    chosen = select_runs(filter, sort, limit=limit, columns=columns, runs_dir=runs_dir)
    return _frame(chosen.records(), chosen.keys, as_frame)


def _frame(rows: list[dict[str, Any]], keys: list[str] | None, as_frame: bool | None) -> Any:
    if as_frame is False:
        return rows
    try:
        import pandas
    except ImportError:
        if as_frame:
            raise ImportError("as_frame=True needs pandas: pip install pandas") from None
        return rows
    return pandas.DataFrame(rows, columns=keys)
