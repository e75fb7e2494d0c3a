"""The sweep directory's JSON files read defensively: a damaged ``results.json`` or
``study.json`` (not a regular file, too large, not UTF-8, not JSON, nested too deep, or of the
wrong shape) is one RunError naming the file and what is wrong, never a traceback later on.

``store`` reads through ``read_json`` and checks what it read with ``check_record`` and
``check_study``; the checks accept exactly what ``store`` and the engine write.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from nnctl.system import MAX_RUN_TEXT_BYTES, RunError, read_capped

# The types of results.json's top-level keys (SweepRecord's fields) and of each trial's row.
_RECORD_TYPES: dict[str, tuple[str, ...]] = {
    "sweep_id": ("string",),
    "sweep_file": ("string",),
    "config": ("string",),
    "metric": ("string",),
    "direction": ("string",),
    "sampler": ("string",),
    "n_trials": ("count",),
    "created": ("string",),
    "status": ("string",),
    "next_trial": ("count",),
    "keys": ("list of strings",),
    "trials": ("list",),
}
_ROW_TYPES: dict[str, tuple[str, ...]] = {
    "trial": ("count",),
    "run_id": ("string", "null"),
    "status": ("string",),
    "params": ("object",),
    "value": ("number", "null"),
    "attempts": ("count",),
    "message": ("string", "null"),
}
_CHOICES = {"direction": ("minimize", "maximize")}
_WORDS = {
    "string": "a string",
    "null": "null",
    "count": "an integer of 0 or more",
    "number": "a finite number",
    "object": "an object",
    "list": "a list",
    "list of strings": "a list of strings",
}
STUDY_STATES = ("COMPLETE", "PRUNED", "FAIL")  # the states the engine tells the study


def read_json(path: Path, what: str) -> Any:
    """The JSON value in ``path``: read only if it is a regular file (a FIFO would block) of
    at most MAX_RUN_TEXT_BYTES. Raises FileNotFoundError, or RunError naming ``what``."""
    try:
        return json.loads(read_capped(path, MAX_RUN_TEXT_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RunError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RunError(f"{path}: damaged {what} (not UTF-8 text)") from None
    except RecursionError:
        raise RunError(f"{path}: damaged {what} (nested too deeply)") from None
    except ValueError as exc:
        raise RunError(f"{path}: damaged {what} (not JSON: {exc})") from None


def _kind(value: Any) -> str:
    """A JSON value's kind, as the messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object"


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "null":
        return value is None
    if kind == "count":
        return type(value) is int and value >= 0
    if kind == "number":
        return type(value) in (int, float) and math.isfinite(value)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "list of strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise AssertionError(kind)  # pragma: no cover


def _expected(kinds: tuple[str, ...]) -> str:
    return " or ".join(_WORDS[k] for k in kinds)


def _check_fields(
    obj: Any, types: dict[str, tuple[str, ...]], optional: tuple[str, ...], name: str
) -> str | None:
    """What is wrong with ``obj`` (an object with these keys of these kinds, those in
    ``optional`` perhaps missing, as files of earlier versions have them), or None."""
    if not isinstance(obj, dict):
        return f"{name or 'the file'}: expected an object, found {_kind(obj)}"
    prefix = f"{name}." if name else ""
    for key, kinds in types.items():
        if key not in obj:
            if key in optional:
                continue
            return f"{prefix}{key} is missing"
        value = obj[key]
        if not any(_is(value, k) for k in kinds):
            return f"{prefix}{key}: expected {_expected(kinds)}, found {_kind(value)}"
        if key in _CHOICES and value not in _CHOICES[key]:
            return f"{prefix}{key}: expected {' or '.join(_CHOICES[key])}, found {_kind(value)}"
    unknown = [k for k in obj if k not in types]
    if unknown:
        return f"{prefix}{str(unknown[0])[:40]}: unknown key"
    return None


def check_record(obj: Any, path: Path) -> None:
    """Raises RunError unless ``obj`` has the shape of ``results.json``."""
    problem = _check_fields(obj, _RECORD_TYPES, ("status", "next_trial", "keys"), "")
    if problem is None:
        for i, row in enumerate(obj["trials"]):
            problem = _check_fields(row, _ROW_TYPES, ("attempts", "message"), f"trials[{i}]")
            if problem is not None:
                break
    if problem is not None:
        raise RunError(f"{path}: damaged sweep results ({problem})")


def check_study(obj: Any, path: Path) -> None:
    """Raises RunError unless ``obj`` has the shape of ``study.json``: an object whose
    ``trials`` are the trials told, each with its number, state, parameters and value.
    Whether the parameters fit the sweep's space is the study's own check (the engine)."""
    problem = None
    if not isinstance(obj, dict):
        problem = f"expected an object, found {_kind(obj)}"
    elif not isinstance(obj.get("trials"), list):
        problem = f"trials: expected a list, found {_kind(obj.get('trials'))}"
    else:
        for i, told in enumerate(obj["trials"]):
            problem = _check_told(told, f"trials[{i}]")
            if problem is not None:
                break
    if problem is not None:
        raise RunError(f"{path}: damaged study ({problem})")


def _check_told(told: Any, where: str) -> str | None:
    if not isinstance(told, dict):
        return f"{where}: expected an object, found {_kind(told)}"
    for key, kind in (("trial", "count"), ("params", "object")):
        if not _is(told.get(key), kind):
            return f"{where}.{key}: expected {_WORDS[kind]}, found {_kind(told.get(key))}"
    state = told.get("state")
    if state not in STUDY_STATES:
        return f"{where}.state: expected {', '.join(STUDY_STATES)}, found {_kind(state)}"
    value = told.get("value")
    if state == "COMPLETE" and not _is(value, "number"):
        return f"{where}.value: a complete trial needs a number, found {_kind(value)}"
    if not (value is None or _is(value, "number")):
        return f"{where}.value: expected number or null, found {_kind(value)}"
    return None
