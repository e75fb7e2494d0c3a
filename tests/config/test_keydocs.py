"""The key reference (``key_docs()``): every key the loader accepts, and only those, with its
type, default, allowed values and help."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nnctl.config import KeyDoc, key_docs, resolve
from nnctl.system import ConfigError

BASE = {
    "dataset": {"synthetic": "moons"},
    "layer_dims": ["auto", 4, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.1,
    "iterations": 5,
}
BAD = [{}]  # a value no key accepts: an accepted key fails on its value, not on its name


def _error(raw: dict[str, Any]) -> str:
    try:
        resolve(raw, "c.yaml")
    except ConfigError as exc:
        return str(exc)
    return ""


def _with_dataset(dataset: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "dataset": dataset}


def _valid_keys(raw: dict[str, Any]) -> list[str]:
    """The keys the loader lists when it refuses an unknown one."""
    message = _error(raw)
    assert "unknown key" in message, message
    return re.search(r"valid keys: (.*)$", message).group(1).split(", ")


def _accepted(name: str) -> bool:
    """The loader takes ``name`` (dotted: in the dataset) in some form of config."""
    if "." not in name:
        return "unknown key" not in _error({**BASE, name: BAD})
    if name.startswith("batch_norm."):
        return "unknown key" not in _error({**BASE, "batch_norm": {name.split(".")[1]: BAD}})
    key = name.removeprefix("dataset.")
    forms = [{"synthetic": "moons", key: BAD}, {"train": "t.h5", key: BAD}]
    if any("unknown key" not in _error(_with_dataset(form)) for form in forms):
        return True
    return _error(_with_dataset({key: "data/folder"})) == ""  # another name for a file key


def test_key_docs_name_every_key_the_loader_accepts_once() -> None:
    names = [doc.name for doc in key_docs()]
    assert len(names) == len(set(names))
    listed = _valid_keys({**BASE, "zzz": 1})
    listed += [
        f"dataset.{k}"
        for form in ({"synthetic": "moons", "zzz": 1}, {"train": "t.h5", "zzz": 1})
        for k in _valid_keys(_with_dataset(form))
    ]
    assert set(listed) <= set(names)
    assert "dataset.images" in names  # accepted in place of train, listed by no error


@pytest.mark.parametrize("doc", key_docs(), ids=lambda doc: doc.name)
def test_every_key_docs_record_is_a_key_the_loader_accepts(doc: KeyDoc) -> None:
    assert _accepted(doc.name)
    assert doc.type and doc.default and doc.help
    assert all(isinstance(v, str) for v in vars(doc).values())
    assert "any" not in doc.type.split(" or "), "its check has no fragment in config/schema.py"


def test_made_up_keys_are_not_accepted() -> None:
    """The probe above tells an unknown key from a known one."""
    assert not _accepted("zzz") and not _accepted("dataset.zzz")


def test_key_docs_records() -> None:
    docs = {doc.name: doc for doc in key_docs()}
    assert docs["learning_rate"] == KeyDoc(
        "learning_rate", "number", "(required)", "> 0", "gradient descent step size"
    )
    assert docs["init"].default == "scaled" and "he" in docs["init"].allowed.split(", ")
    assert docs["beta1"].type == "number or null" and docs["beta1"].allowed == ">= 0.0, < 1.0"
    assert docs["layer_dims"].allowed == "at least 2 entries, each >= 1, entry 0 may also be auto"
    assert docs["dataset.m"] == KeyDoc(
        "dataset.m", "integer", "400", ">= 1", "number of examples generated (train + test)"
    )
    assert docs["dataset.delimiter"].allowed == '",", ";", "\\t", "|"'
    assert docs["dataset.images"].default == "(instead of train)"
    # a generator and files both take a seed, with different defaults: one record says both
    assert docs["dataset.seed"].default == "synthetic: 1; files: null"
    assert docs["dataset.seed"].allowed == ">= 0, <= 4294967295"
