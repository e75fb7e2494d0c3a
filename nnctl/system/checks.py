"""Checks of single config values, shared by the config's key table and the tables that
declare their own keys (an optimizer's hyperparameters). Each returns the value (normalized)
or raises ``Invalid`` saying what was expected; the caller adds the key and the file."""

from __future__ import annotations

import datetime
import difflib
import math
import reprlib
from collections.abc import Callable
from typing import Any


class Invalid(Exception):
    """A value check failed; the message says what was expected. Gets the key and source added."""


# Values quoted in messages are cut short: a message must stay one readable line, and must
# never cost the memory or time of printing a huge value whole.
_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxlist, _QUOTE.maxdict, _QUOTE.maxstring, _QUOTE.maxother = 3, 8, 8, 60, 60
_QUOTE.maxlong = 40


def quote(value: Any) -> str:
    """``repr(value)`` cut to a readable length (nested lists and long strings elided with ...)."""
    return _QUOTE.repr(value)


def quote_text(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "..."


def describe(value: Any) -> str:
    """How a YAML value reads to a user, for error messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (YAML also reads yes/no/on/off as booleans)"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, list):
        return f"a list {quote(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return quote(value)


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"expected a number, got {describe(value)}")
    if not math.isfinite(value):
        raise Invalid(f"expected a finite number, got {value}")
    return value


def integer(value: Any) -> int:
    v = number(value)
    if isinstance(v, float):
        if not v.is_integer():
            raise Invalid(f"expected a whole number, got {v}")
        v = int(v)
    return v


def positive_number(value: Any) -> float:
    v = number(value)
    if v <= 0:
        raise Invalid(f"must be a positive number, got {v}")
    return float(v)


def non_negative_number(value: Any) -> float:
    v = number(value)
    if v < 0:
        raise Invalid(f"must be >= 0, got {v}")
    return float(v)


def positive_int(value: Any) -> int:
    v = integer(value)
    if v <= 0:
        raise Invalid(f"must be a positive whole number, got {v}")
    return v


def seed_int(value: Any) -> int:
    v = integer(value)
    if not 0 <= v < 2**32:
        raise Invalid(f"must be a whole number from 0 to 2**32 - 1, got {v}")
    return v


def fraction(lo_inclusive: float, hi_exclusive: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        v = float(number(value))
        if not lo_inclusive <= v < hi_exclusive:
            raise Invalid(f"must be in [{lo_inclusive}, {hi_exclusive}), got {v}")
        return v

    return check


def string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"expected a non-empty string, got {describe(value)}")
    return value


def choice(options: Callable[[], list[str]] | list[str]) -> Callable[[Any], str]:
    """A name from a fixed list (or a table's keys, looked up when checked)."""

    def check(value: Any) -> str:
        valid = options() if callable(options) else options
        if not isinstance(value, str) or value not in valid:
            hint = did_you_mean(value, valid) if isinstance(value, str) else ""
            raise Invalid(f"got {describe(value)}{hint}; valid: {', '.join(valid)}")
        return value

    return check


def did_you_mean(word: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(word, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def each(values: list, check: Callable[[Any], Any]) -> list:
    """``check`` applied to every entry of a list; a failure names the entry's index."""
    out = []
    for i, v in enumerate(values):
        try:
            out.append(check(v))
        except Invalid as exc:
            raise Invalid(f"entry {i}: {exc}") from None
    return out


def optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``check``, or null for 'not set'."""

    def check_optional(value: Any) -> Any:
        return None if value is None else check(value)

    return check_optional
