"""``--set KEY=VALUE`` overrides, applied to a parsed config mapping before it is resolved,
so an override is checked exactly like the file."""

from __future__ import annotations

from typing import Any

from nnctl.config.keys import config_keys
from nnctl.config.parsing import parse_yaml
from nnctl.config.resolution import expand_dataset
from nnctl.system import ConfigError, did_you_mean, quote, quote_text


def apply_overrides(raw: Any, overrides: list[str], source: str) -> Any:
    """Applies ``KEY=VALUE`` overrides (VALUE parsed as YAML; KEY may be dotted, e.g.
    ``dataset.test_fraction``) to a parsed config mapping. Returns a new mapping."""
    if not isinstance(raw, dict):
        return raw
    out = dict(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--set {quote(item)}: expected KEY=VALUE, e.g. --set learning_rate=0.01"
            )
        value = parse_yaml(text, f"--set {quote_text(item, 100)}")
        parts = key.split(".")
        target = out
        for depth, part in enumerate(parts[:-1]):
            prefix = ".".join(parts[: depth + 1])
            if depth == 0 and part not in config_keys():
                keys = list(config_keys())
                hint = did_you_mean(part, keys)
                raise ConfigError(
                    f"--set {item}: unknown key {quote(part)}{hint}; valid keys: {', '.join(keys)}"
                )
            current = (
                expand_dataset(target.get(part, {}))
                if prefix == "dataset"
                else target.get(part, {})
            )
            if not isinstance(current, dict):
                raise ConfigError(
                    f"--set {item}: {prefix} is not a mapping, so {key} cannot be set"
                )
            target[part] = dict(current)
            target = target[part]
        target[parts[-1]] = value
    return out
