"""``runs list --filter KEY<op>VALUE``: runs kept by the value of any column (``table.field``).

Dates: ``created`` and ``finished`` filter by time, against an ISO date or date-time (local
time unless it carries an offset) or a duration (``90m``, ``36h``, ``7d``, ``2w``), which stands
for that long ago: ``created<7d`` keeps the runs created more than seven days ago.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from nnctl.runs.table import DATE_KEYS, RunInfo, check_key, field
from nnctl.system import ConfigError, UsageError

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
        check_key(key, infos, "--filter")
        if key in DATE_KEYS:
            when = parse_when(text)
            if when is None:
                raise UsageError(
                    f"--filter {spec!r}: {key} compares with a date (2026-11-26, "
                    f"2026-11-26T10:25) or a duration ago (90m, 36h, 7d, 2w), got {text!r}"
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
