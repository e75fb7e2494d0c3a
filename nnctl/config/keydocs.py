"""The key reference: every config key with its type, default, allowed values and help, read
from the key table (``keys``) and, for the types and values, from the JSON Schema each key's
check maps to (``schema.check_schema``), so the reference cannot drift from what is checked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from nnctl.config.keys import (
    BATCH_NORM_KEYS,
    DATASET_ALIASES,
    DATASET_FILE_KEYS,
    DATASET_READER_KEYS,
    DATASET_SHORTHAND,
    DATASET_SYNTHETIC_KEYS,
    Key,
    config_keys,
)
from nnctl.config.schema import check_schema
from nnctl.config.values import REQUIRED

_NULL = {"type": "null"}
_TYPE_WORDS = {"array": "list", "object": "mapping"}
_BOUNDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
)


@dataclass(frozen=True)
class KeyDoc:
    """One config key as the reference shows it; every field is plain text.

    name: dotted for the dataset's keys (``dataset.train``); type: e.g. ``integer or null``;
    default: as YAML writes it, or ``(required)``; allowed: the values beyond the type (names,
    bounds, a mapping's keys), empty when any value of the type is; help: one line."""

    name: str
    type: str
    default: str
    allowed: str
    help: str


def key_docs() -> list[KeyDoc]:
    """Every key a config accepts, in table order: the top-level keys (``config_keys()``, the
    optimizers' hyperparameters included), then ``dataset.*``: a generator's keys, the files'
    keys, their aliases and the reading options; then ``batch_norm.*``. A key both a generator
    and files take (``dataset.seed``) is one record; where the two differ, each part says which
    it is for."""
    docs = [
        _dataset_doc(key) if name == "dataset" else _doc(name, key)
        for name, key in config_keys().items()
    ]
    files = {
        **_table_docs(DATASET_FILE_KEYS),
        **_alias_docs(),
        **_table_docs(DATASET_READER_KEYS),
    }
    forms: dict[str, dict[str, KeyDoc]] = {}
    for form, table in (("synthetic", _table_docs(DATASET_SYNTHETIC_KEYS)), ("files", files)):
        for name, doc in table.items():
            forms.setdefault(name, {})[form] = doc
    norm = [_doc(f"batch_norm.{name}", key) for name, key in BATCH_NORM_KEYS.items()]
    return docs + [_merge(by_form) for by_form in forms.values()] + norm


def _table_docs(table: dict[str, Key]) -> dict[str, KeyDoc]:
    return {f"dataset.{name}": _doc(f"dataset.{name}", key) for name, key in table.items()}


def _dataset_doc(key: Key) -> KeyDoc:
    """``dataset`` is checked by resolution, not by its own check: its forms are the tables."""
    forms = f"{DATASET_SHORTHAND}; or a mapping of the dataset.* keys"
    return KeyDoc("dataset", "string or mapping", _default(key.default), forms, key.doc)


def _alias_docs() -> dict[str, KeyDoc]:
    """Each alias takes the values of the key it stands for, in its place."""
    keys = {**DATASET_FILE_KEYS, **DATASET_READER_KEYS}
    docs = {}
    for alias, (target, doc) in DATASET_ALIASES.items():
        name = f"dataset.{alias}"
        docs[name] = replace(_doc(name, keys[target]), default=f"(instead of {target})", help=doc)
    return docs


def _doc(name: str, key: Key) -> KeyDoc:
    fragment = check_schema(key.check)
    if key.default is None and fragment and _NULL not in fragment.get("anyOf", []):
        fragment = {"anyOf": [fragment, _NULL]}  # null means "the default", as in the schema
    return KeyDoc(name, _type(fragment), _default(key.default), _allowed(fragment), key.doc)


def _merge(by_form: dict[str, KeyDoc]) -> KeyDoc:
    """One record of a key several dataset forms take; differing fields name their form."""
    docs = list(by_form.values())
    if len(docs) == 1:
        return docs[0]
    parts = {}
    for f in fields(KeyDoc):
        texts = {form: getattr(doc, f.name) for form, doc in by_form.items()}
        same = len(set(texts.values())) == 1
        parts[f.name] = getattr(docs[0], f.name) if same else _per_form(texts)
    return KeyDoc(**parts)


def _per_form(texts: dict[str, str]) -> str:
    return "; ".join(f"{form}: {text or '-'}" for form, text in texts.items())


def _default(value: Any) -> str:
    """A default as YAML writes it (``null``, ``true``, ``0.0``, ``scaled``)."""
    if value is REQUIRED:
        return "(required)"
    return value if isinstance(value, str) else json.dumps(value)


def _literal(value: Any) -> str:
    """A name as is, anything else (``"\\t"``, ``","``) quoted."""
    text = str(value)
    return text if re.fullmatch(r"[\w.]+", text) else json.dumps(value)


def _type(fragment: dict[str, Any]) -> str:
    """What a schema fragment holds, in words: ``integer``, ``list or mapping or null``, ..."""
    if "anyOf" in fragment:
        return " or ".join(dict.fromkeys(_type(f) for f in fragment["anyOf"]))
    if "enum" in fragment:
        return "string" if all(isinstance(v, str) for v in fragment["enum"]) else "choice"
    if "const" in fragment:
        return _literal(fragment["const"])
    if "type" in fragment:
        return _TYPE_WORDS.get(fragment["type"], fragment["type"])
    return "any"  # a check the schema does not describe; nnctl still checks it


def _allowed(fragment: dict[str, Any]) -> str:
    """The values a schema fragment allows beyond its type, in words ('' when any is)."""
    if "anyOf" in fragment:
        options = [f for f in fragment["anyOf"] if f != _NULL]
        if len(options) == 1:
            return _allowed(options[0])
        described = [(_type(f), _allowed(f)) for f in options]
        if not any(text for _, text in described):
            return ""  # the type says it all: "string or integer"
        return "; ".join(
            f"{kind}: {text}" if text and text != kind else kind for kind, text in described
        )
    if "enum" in fragment:
        return ", ".join(_literal(v) for v in fragment["enum"])
    if "const" in fragment:
        return _literal(fragment["const"])
    if fragment.get("type") == "array":
        return _list_allowed(fragment)
    if fragment.get("type") == "boolean":
        return "true, false"
    if fragment.get("type") == "object":
        required = fragment.get("required", [])
        needs = f" ({', '.join(required)} required)" if required else ""
        return "{" + ", ".join(fragment.get("properties", {})) + "}" + needs
    words = [f"{sign} {fragment[bound]}" for bound, sign in _BOUNDS if bound in fragment]
    if fragment.get("minLength") == 1:
        words.append("non-empty")
    return ", ".join(words)


def _list_allowed(fragment: dict[str, Any]) -> str:
    """``2 entries, each >= 1``; a first entry that may also be something else says so."""
    lo, hi = fragment.get("minItems"), fragment.get("maxItems")
    words = []
    if lo is not None:
        words.append(f"{'' if lo == hi else 'at least '}{lo} {'entry' if lo == 1 else 'entries'}")
    items = fragment.get("items", {})
    if items:
        words.append(f"each {_allowed(items) or _type(items)}")
    for i, entry in enumerate(fragment.get("prefixItems", [])):
        others = [f for f in entry.get("anyOf", []) if f != items]
        if items and len(others) < len(entry.get("anyOf", [])):
            words.append(f"entry {i} may also be {_allowed({'anyOf': others})}")
        else:
            words.append(f"entry {i}: {_allowed(entry)}")
    return ", ".join(words)
