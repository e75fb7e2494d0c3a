"""The config as a JSON Schema (draft 2020-12), for editors with a YAML language server
(``# yaml-language-server: $schema=nnctl-config.schema.json`` at the top of a config gives
completion, hover docs and checking while typing).

Generated from the key table (``keys.config_keys()`` and the dataset keys): every key is a
property, described by its ``Key.doc``, with its default; a key without a default is required.
Each key's value check (``nnctl.system.checks`` and ``values.check_*``) maps to a schema fragment in
``_FRAGMENTS`` or, for the parametrized checks (``choice``, ``fraction``, ``optional``), is read
from the check's closure, so a new key, activation, loss or optimizer shows up without an
edit here. A check this module does not know gives an unconstrained property (still listed,
still documented): the schema can be looser than nnctl, never stricter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from nnctl.config import values
from nnctl.config.keys import (
    BATCH_NORM_KEYS,
    CONFIG_KEYS,
    DATASET_ALIASES,
    DATASET_FILE_KEYS,
    DATASET_READER_KEYS,
    DATASET_SHORTHAND,
    DATASET_SYNTHETIC_KEYS,
    Key,
    config_keys,
)
from nnctl.system import checks

SCHEMA_ID = "https://nnctl.invalid/config.schema.json"

_NUMBER: dict[str, Any] = {"type": "number"}
_POSITIVE_INT: dict[str, Any] = {"type": "integer", "minimum": 1}
_NON_NEGATIVE: dict[str, Any] = {"type": "number", "minimum": 0}
_KEEP = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_STRING: dict[str, Any] = {"type": "string", "minLength": 1}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_MLFLOW_URI: dict[str, Any] = {
    "type": "string",
    "pattern": "^(" + "|".join(values.TRACKING_SCHEMES) + "):",
}
_COLUMN: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def _activation_enum() -> dict[str, Any]:
    return {"enum": values.activation_names()}


def _fragments() -> dict[Callable[[Any], Any], Callable[[], dict[str, Any]]]:
    return {
        checks.string: lambda: _STRING,
        checks.number: lambda: _NUMBER,
        checks.integer: lambda: {"type": "integer"},
        checks.positive_number: lambda: {"type": "number", "exclusiveMinimum": 0},
        checks.non_negative_number: lambda: _NON_NEGATIVE,
        checks.positive_int: lambda: _POSITIVE_INT,
        checks.seed_int: lambda: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
        values.check_layer_dims: lambda: {
            "type": "array",
            "minItems": 2,
            "prefixItems": [{"anyOf": [_POSITIVE_INT, {"const": "auto"}]}],
            "items": _POSITIVE_INT,
        },
        values.check_activations: lambda: {
            "anyOf": [
                {"type": "array", "minItems": 1, "items": _activation_enum()},
                {
                    "type": "object",
                    "properties": {"hidden": _activation_enum(), "output": _activation_enum()},
                    "required": ["output"],
                    "additionalProperties": False,
                },
            ]
        },
        values.check_dropout: lambda: {
            "anyOf": [_KEEP, {"type": "array", "items": _KEEP}, {"type": "null"}]
        },
        values.check_lr_decay: lambda: {
            "anyOf": [
                _NON_NEGATIVE,
                {
                    "type": "object",
                    "properties": {"rate": _NON_NEGATIVE, "interval": _POSITIVE_INT},
                    "required": ["rate"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        values.check_lr_schedule: _schedule_fragment,
        values.check_shuffle: lambda: {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "course": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
                    },
                    "required": ["course"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        values.check_early_stopping: lambda: {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"patience": _POSITIVE_INT, "min_delta": _NON_NEGATIVE},
                    "required": ["patience"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        values.check_class_weight: lambda: {
            "anyOf": [
                {"const": "balanced"},
                {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
                },
                {"type": "null"},
            ]
        },
        values.check_diagnose: lambda: {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"baseline": {"anyOf": [_NON_NEGATIVE, {"type": "null"}]}},
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        values.check_tracking: lambda: {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "mlflow": {"anyOf": [_BOOLEAN, _MLFLOW_URI, {"type": "null"}]},
                        "tensorboard": {"anyOf": [_BOOLEAN, _STRING, {"type": "null"}]},
                        "experiment": _STRING,
                        "histograms_every": {
                            "anyOf": [_POSITIVE_INT, {"const": "auto"}, {"type": "null"}]
                        },
                    },
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        values.check_source: lambda: {
            "anyOf": [
                _STRING,
                {
                    "type": "object",
                    "properties": {"x": _STRING, "y": _STRING},
                    "required": ["x", "y"],
                    "additionalProperties": False,
                },
            ]
        },
        values.check_columns: lambda: {"anyOf": [_COLUMN, {"type": "array", "items": _COLUMN}]},
        values.check_size: lambda: {
            "type": "array",
            "items": _POSITIVE_INT,
            "minItems": 2,
            "maxItems": 2,
        },
        values.check_bool: lambda: _BOOLEAN,
        values.check_stream: lambda: _BOOLEAN,
        values.check_norm_layers: lambda: _NORM_LAYERS,
        values.check_batch_norm: _batch_norm_fragment,
    }


_NORM_LAYERS: dict[str, Any] = {
    "anyOf": [_BOOLEAN, {"type": "array", "minItems": 1, "items": _BOOLEAN}]
}


def _batch_norm_fragment() -> dict[str, Any]:
    """``batch_norm``: true/false, a flag per hidden layer, or a mapping of ``BATCH_NORM_KEYS``."""
    props, _ = _properties(BATCH_NORM_KEYS)
    return {
        "anyOf": [
            *_NORM_LAYERS["anyOf"],
            {"type": "object", "properties": props, "additionalProperties": False},
            {"type": "null"},
        ]
    }


def _schedule_fragment() -> dict[str, Any]:
    """``lr_schedule``: a schedule's name, or a mapping of its name and settings (one object per
    entry of ``nnctl.core.LR_SCHEDULES``)."""
    from nnctl.core import LR_SCHEDULES
    from nnctl.core.schedules import decay_factor, non_negative_int, settings_of

    own = {
        decay_factor: {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        non_negative_int: {"type": "integer", "minimum": 0},
    }
    forms: list[dict[str, Any]] = [{"enum": list(LR_SCHEDULES)}]
    for name, schedule in LR_SCHEDULES.items():
        props: dict[str, Any] = {"name": {"const": name}}
        for key, st in settings_of(name).items():
            fragment = own.get(st.check) or check_schema(st.check)
            if st.default is None and not st.required:
                fragment = {"anyOf": [fragment, {"type": "null"}]}
            props[key] = {"description": st.doc, **fragment}
        required = ["name", *(k for k, st in schedule.settings.items() if st.required)]
        forms.append(
            {
                "type": "object",
                "title": name,
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        )
    return {"anyOf": [*forms, {"type": "null"}]}


def check_schema(check: Callable[[Any], Any]) -> dict[str, Any]:
    """The JSON Schema of the values ``check`` accepts ({} when it is not known here)."""
    known = _fragments()
    if check in known:
        return dict(known[check]())
    outer = check.__qualname__.split(".<locals>")[0]
    cells = inspect.getclosurevars(check).nonlocals
    if outer == "optional":
        return {"anyOf": [check_schema(cells["check"]), {"type": "null"}]}
    if outer == "choice":
        options = cells["options"]
        return {"enum": list(options() if callable(options) else options)}
    if outer == "fraction":
        return {
            "type": "number",
            "minimum": cells["lo_inclusive"],
            "exclusiveMaximum": cells["hi_exclusive"],
        }
    return {}


def _properties(keys: dict[str, Key]) -> tuple[dict[str, Any], list[str]]:
    props, required = {}, []
    for name, key in keys.items():
        fragment = check_schema(key.check)
        if key.default is None and fragment and {"type": "null"} not in fragment.get("anyOf", []):
            fragment = {"anyOf": [fragment, {"type": "null"}]}  # null means "the default"
        prop = {"description": key.doc, **fragment}
        if key.default is values.REQUIRED:
            required.append(name)
        else:
            prop["default"] = key.default
        props[name] = prop
    return props, required


def config_schema() -> dict[str, Any]:
    """The JSON Schema of an nnctl config file (``nnctl config schema``)."""
    props, required = _properties(config_keys())
    synthetic, synthetic_required = _properties(DATASET_SYNTHETIC_KEYS)
    files, files_required = _properties({**DATASET_FILE_KEYS, **DATASET_READER_KEYS})
    for alias, (_, doc) in DATASET_ALIASES.items():
        files[alias] = {"description": doc}
    props["dataset"] = {
        "description": CONFIG_KEYS["dataset"].doc,
        "anyOf": [
            {"type": "string", "description": DATASET_SHORTHAND},
            {
                "type": "object",
                "title": "synthetic",
                "properties": synthetic,
                "required": synthetic_required,
                "additionalProperties": False,
            },
            {
                "type": "object",
                "title": "files",
                "properties": files,
                "anyOf": [
                    {"required": files_required},
                    *({"required": [alias]} for alias in DATASET_ALIASES),
                ],
                "additionalProperties": False,
            },
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "nnctl config",
        "description": (
            "A training config for nnctl (see 'nnctl train --help' and docs/guides/training.md)."
        ),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
