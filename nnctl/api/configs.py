"""A config as ``nnctl.train`` takes it: a YAML file, a mapping with the keys of a config file,
or a loaded ``Config``, with keyword overrides. Each override becomes the ``KEY=VALUE`` text
``nnctl train --set`` takes (the value written as YAML) and goes through the same
``apply_overrides`` and validation, so a wrong key or value gets the same one-line message, with
its "did you mean"."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from nnctl.config import Config, apply_overrides, load_config, resolve
from nnctl.system import ConfigError

DICT_SOURCE = "<config dict>"
"""How messages name a config given as a mapping (a file's are named by its path)."""


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and paths as the YAML values they stand for."""
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def override_text(key: str, value: Any) -> str:
    """``learning_rate=0.01`` from (``learning_rate``, 0.01): what --set would be given."""
    import yaml

    try:
        text = yaml.safe_dump(_plain(value), default_flow_style=True, width=2**31 - 1)
    except yaml.YAMLError:
        raise ConfigError(
            f"{key}: a {type(value).__name__} cannot be a config value; give numbers, strings, "
            "lists or mappings of them"
        ) from None
    text = text.strip()
    if text.endswith("\n..."):  # the end-of-document marker PyYAML adds after a plain scalar
        text = text[: -len("\n...")]
    return f"{key}={text.strip()}"


def resolve_config(
    config: Any, overrides: Mapping[str, Any], *, sets: Sequence[str] = ()
) -> Config:
    """The validated ``Config`` of ``config`` (path, mapping or Config) with ``overrides``
    (config keys, dotted for nested ones: ``**{"dataset.test_fraction": 0.3}``). ``sets``:
    ``KEY=VALUE`` texts as ``--set`` takes them (the value read as YAML), applied first; the
    CLI passes its ``--set`` options here, as given. Raises ConfigError with the messages
    ``nnctl train CONFIG --set`` gives."""
    items = [*sets, *(override_text(k, v) for k, v in overrides.items())]
    if isinstance(config, (str, os.PathLike)):
        return load_config(config, items)
    if isinstance(config, Config):
        if not items:
            return config
        raw, source, path, name = config.to_dict(), config.source, config.path, config.name
    elif isinstance(config, Mapping):
        raw, source, path, name = _plain(config), DICT_SOURCE, None, "run"
    else:
        raise TypeError(
            "config: expected a YAML file path, a dict of config keys or a Config, got "
            f"{type(config).__name__}"
        )
    if items:
        raw = apply_overrides(raw, items, source)
        source = f"{source} (with --set)"
    return resolve(raw, source, default_name=name, path=path)
