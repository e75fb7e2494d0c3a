"""The sweep file: its keys, the search space, and the trial configs it describes.

A sweep file is YAML, checked as strictly as a config (unknown keys with "did you mean", one
``ConfigError`` naming the file, the key and what would be valid)::

    config: spiral.yaml        # the base config, relative to the sweep file's folder
    set: {epochs: 40}          # fixed overrides, as --set would give them
    metric: val_loss           # chosen on validation data: val_loss/val_mse/val_mae minimized,
                               # val_accuracy/val_r2 maximized
    trials: 20                 # ignored by grid, which runs every combination
    sampler: tpe               # grid | random | tpe
    seed: 0
    prune: true                # stop hopeless trials early (median rule on the validation loss)
    space:
      learning_rate: {log_uniform: [0.0001, 0.1]}
      batch_size: {choice: [32, 64, 128]}

This module needs neither Optuna nor Dask: ``nnctl sweep check`` and the engine both use it.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.config import (
    DATASET_FILE_KEYS,
    DATASET_SYNTHETIC_KEYS,
    Config,
    apply_overrides,
    config_keys,
    parse_yaml,
    resolve,
)
from nnctl.system import ConfigError, describe, did_you_mean

SAMPLERS = ("grid", "random", "tpe")
METRICS = {
    "val_loss": "minimize",
    "val_mse": "minimize",
    "val_mae": "minimize",
    "val_accuracy": "maximize",
    "val_r2": "maximize",
}
"""The metrics a sweep can choose on, all on validation data, and their direction."""
CLASSIFICATION_METRICS = ("val_loss", "val_accuracy")
DISTRIBUTIONS = ("log_uniform", "uniform", "int_uniform", "choice")
MAX_GRID = 10_000  # a grid this large is a typo, not a sweep: refuse it before enumerating
MAX_TRIALS = 100_000


@dataclass(frozen=True)
class Param:
    """One swept key: ``kind`` is one of DISTRIBUTIONS; ``args`` (low, high) or the choices."""

    key: str
    kind: str
    args: tuple

    @property
    def categorical(self) -> bool:
        return self.kind == "choice"

    @property
    def scalar_choices(self) -> bool:
        """Optuna stores choices of plain scalars as themselves; others (lists such as
        layer_dims) by their index in the list."""
        return all(v is None or isinstance(v, (bool, int, float, str)) for v in self.args)

    def edges(self) -> list[Any]:
        """The values ``sweep check`` tries: every choice, or both ends of a range."""
        return list(self.args)


@dataclass(frozen=True)
class SweepSpec:
    path: Path  # the sweep file
    text: str  # as read, copied into the sweep directory
    config: Path  # the base config, absolute
    set: dict[str, Any]
    metric: str
    trials: int
    sampler: str
    seed: int
    prune: bool
    space: tuple[Param, ...]

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    @property
    def source(self) -> str:
        return str(self.path)

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the choices, first key slowest (grid sampler only)."""
        keys = [p.key for p in self.space]
        return [
            dict(zip(keys, combo)) for combo in itertools.product(*(p.args for p in self.space))
        ]

    def n_trials(self) -> int:
        """How many trials the sweep runs: the grid's size, else ``trials``."""
        return math.prod(len(p.args) for p in self.space) if self.sampler == "grid" else self.trials


_TOP_KEYS = ("config", "set", "metric", "trials", "sampler", "seed", "prune", "space")


def _space_keys() -> list[str]:
    """Keys a sweep may vary: every config key, and dataset.<key> of either dataset kind."""
    keys = [k for k in config_keys() if k != "dataset"]
    keys += [f"dataset.{k}" for k in dict.fromkeys([*DATASET_SYNTHETIC_KEYS, *DATASET_FILE_KEYS])]
    return keys


def _check_key(key: Any, where: str, source: str) -> str:
    valid = _space_keys()
    if not isinstance(key, str) or key not in valid:
        hint = did_you_mean(str(key), valid)
        raise ConfigError(
            f"{source}: {where}: unknown config key '{key}'{hint}; valid keys: {', '.join(valid)}"
        )
    return key


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _param(key: str, value: Any, source: str) -> Param:
    where = f"{source}: space.{key}"
    example = "e.g. {log_uniform: [0.0001, 0.1]} or {choice: [32, 64]}"
    if not isinstance(value, dict) or len(value) != 1:
        raise ConfigError(
            f"{where}: expected one distribution ({', '.join(DISTRIBUTIONS)}), {example}; "
            f"got {describe(value)}"
        )
    ((kind, args),) = value.items()
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: unknown distribution '{kind}'"
            f"{did_you_mean(str(kind), list(DISTRIBUTIONS))}; "
            f"valid: {', '.join(DISTRIBUTIONS)}"
        )
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise ConfigError(
                f"{where}: choice needs a non-empty list of values, got {describe(args)}"
            )
        keyed = [json.dumps(a, sort_keys=True, default=str) for a in args]
        if len(set(keyed)) != len(keyed):
            raise ConfigError(f"{where}: choice lists a value twice; give each value once")
        return Param(key, kind, tuple(args))
    if not (isinstance(args, list) and len(args) == 2 and all(_number(a) for a in args)):
        raise ConfigError(f"{where}: {kind} needs [low, high] (two numbers), got {describe(args)}")
    lo, hi = args
    if not lo < hi:
        raise ConfigError(f"{where}: {kind} needs low < high, got [{lo}, {hi}]")
    if kind == "log_uniform" and lo <= 0:
        raise ConfigError(
            f"{where}: log_uniform needs low > 0 (a logarithm of {lo} is undefined), "
            f"got [{lo}, {hi}]"
        )
    if kind == "int_uniform":
        if not all(isinstance(a, int) for a in args):
            raise ConfigError(f"{where}: int_uniform needs two integers, got [{lo}, {hi}]")
        return Param(key, kind, (int(lo), int(hi)))
    return Param(key, kind, (float(lo), float(hi)))


def parse_sweep(text: str, path: Path) -> SweepSpec:
    """Validates a sweep file's text. Raises ConfigError (one line naming the file)."""
    source = str(path)
    raw = parse_yaml(text, source)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: expected a mapping of sweep keys ({', '.join(_TOP_KEYS)}), "
            f"got {describe(raw)}"
        )
    for k in raw:
        if k not in _TOP_KEYS:
            raise ConfigError(
                f"{source}: unknown key '{k}'{did_you_mean(str(k), list(_TOP_KEYS))}; "
                f"valid keys: {', '.join(_TOP_KEYS)}"
            )
    for k in ("config", "space"):
        if raw.get(k) is None:
            raise ConfigError(f"{source}: missing required key {k}")
    if not isinstance(raw["config"], str) or not raw["config"]:
        raise ConfigError(
            f"{source}: config: expected the base config's file name, got {describe(raw['config'])}"
        )
    config = Path(raw["config"])
    if not config.is_absolute():
        config = path.absolute().parent / config
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(
            f"{source}: set: expected a mapping of config keys to values, e.g. {{epochs: 40}}, "
            f"got {describe(fixed)}"
        )
    for k in fixed:
        _check_key(k, "set", source)
    metric = raw.get("metric", "val_loss")
    if metric not in METRICS:
        hint = did_you_mean(str(metric), list(METRICS))
        test = (
            " (a sweep chooses on validation data, never on the test set)"
            if str(metric).startswith("test_")
            else ""
        )
        raise ConfigError(
            f"{source}: metric: unknown metric '{metric}'{hint}{test}; valid: {', '.join(METRICS)}"
        )
    trials = raw.get("trials", 20)
    if not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= MAX_TRIALS:
        raise ConfigError(
            f"{source}: trials: expected a whole number from 1 to {MAX_TRIALS}, "
            f"got {describe(trials)}"
        )
    sampler = raw.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise ConfigError(
            f"{source}: sampler: unknown sampler '{sampler}'"
            f"{did_you_mean(str(sampler), list(SAMPLERS))}; "
            f"valid: {', '.join(SAMPLERS)}"
        )
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ConfigError(
            f"{source}: seed: expected a whole number from 0 to 2**32 - 1, got {describe(seed)}"
        )
    prune = raw.get("prune", True)
    if not isinstance(prune, bool):
        raise ConfigError(f"{source}: prune: expected true or false, got {describe(prune)}")
    space_raw = raw["space"]
    if not isinstance(space_raw, dict) or not space_raw:
        raise ConfigError(
            f"{source}: space: expected a mapping of config keys to distributions, "
            f"e.g. {{learning_rate: {{log_uniform: [0.0001, 0.1]}}}}, got {describe(space_raw)}"
        )
    space = tuple(_param(_check_key(k, "space", source), v, source) for k, v in space_raw.items())
    both = [p.key for p in space if p.key in fixed]
    if both:
        raise ConfigError(f"{source}: {both[0]} is both fixed (set) and swept (space); keep one")
    if sampler == "grid":
        ranged = [p for p in space if not p.categorical]
        if ranged:
            p = ranged[0]
            raise ConfigError(
                f"{source}: space.{p.key}: the grid sampler needs a choice list (a grid cannot "
                f"enumerate a {p.kind} range); use {{choice: [...]}} or sampler: random or tpe"
            )
        size = math.prod(len(p.args) for p in space)
        if size > MAX_GRID:
            raise ConfigError(
                f"{source}: space: the grid has {size} combinations, more than {MAX_GRID}; "
                "use fewer choices or sampler: random or tpe"
            )
    return SweepSpec(path, text, config, dict(fixed), metric, trials, sampler, seed, prune, space)


def load_sweep(path: str | Path) -> SweepSpec:
    """Reads and validates a sweep file. Raises ConfigError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such sweep file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML sweep file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (expected UTF-8 YAML)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_sweep(text, p)


def _overrides(values: dict[str, Any]) -> list[str]:
    # JSON is YAML, so apply_overrides parses each value back exactly as it was given
    return [f"{k}={json.dumps(v)}" for k, v in values.items()]


def base_raw(spec: SweepSpec) -> dict:
    """The base config as parsed, with the sweep's ``set`` applied. Raises ConfigError."""
    try:
        text = spec.config.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{spec.source}: config: no such config file {spec.config}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{spec.source}: config: cannot read {spec.config}: {exc}") from None
    raw = parse_yaml(text, str(spec.config))
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{spec.config}: expected a mapping of config keys at the top level, "
            f"got {describe(raw)}"
        )
    try:
        return apply_overrides(raw, _overrides(spec.set), str(spec.config))
    except ConfigError as exc:
        raise ConfigError(f"{spec.source}: set: {exc}") from None


def trial_config(
    spec: SweepSpec, raw: dict, values: dict[str, Any], name: str, label: str
) -> Config:
    """The config of one trial: the base config with ``set`` (already in ``raw``) and the
    trial's sampled ``values`` (dotted keys reach into dataset), named ``name``. Relative data
    paths still resolve beside the base config. Raises ConfigError naming ``label``."""
    source = f"{spec.source} ({label})"
    try:
        trial_raw = apply_overrides(raw, _overrides({**values, "name": name}), source)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    cfg = resolve(trial_raw, source, default_name=name, path=str(spec.config))
    if cfg.validation_fraction <= 0 and not cfg.dataset.get("val"):
        raise ConfigError(
            f"{source}: the config {spec.config.name} has no validation split, and a sweep "
            "chooses on validation data; set validation_fraction (e.g. 0.2) or dataset.val"
        )
    if cfg.arch.loss.task == "regression" and spec.metric not in (
        "val_loss",
        "val_mse",
        "val_mae",
        "val_r2",
    ):
        raise ConfigError(
            f"{source}: metric: {spec.metric} needs a classifier, but this config is a regression "
            "(use val_loss, val_mse, val_mae or val_r2)"
        )
    if cfg.arch.loss.task != "regression" and spec.metric not in CLASSIFICATION_METRICS:
        raise ConfigError(
            f"{source}: metric: {spec.metric} needs a regression config, but this config is a "
            f"classifier (use {' or '.join(CLASSIFICATION_METRICS)})"
        )
    return cfg


def check_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """The trial values ``sweep check`` validates before anything trains: the whole grid, or
    for random and TPE each key's every choice (or both ends of its range) with the other keys
    at their first value."""
    if spec.sampler == "grid":
        return spec.grid()
    first = {p.key: p.edges()[0] for p in spec.space}
    out, seen = [first], {json.dumps(first, sort_keys=True, default=str)}
    for p in spec.space:
        for v in p.edges()[1:]:
            values = {**first, p.key: v}
            k = json.dumps(values, sort_keys=True, default=str)
            if k not in seen:
                seen.add(k)
                out.append(values)
    return out
