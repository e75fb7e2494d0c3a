"""Resolution: a parsed config mapping checked against the key table, its defaults filled in
and its keys cross-checked (activations against layers, loss against the output layer, one of
iterations or epochs, the chosen optimizer's hyperparameters, dropout, validation), giving a
``Config``. Every mistake is one ``ConfigError`` line naming the source and the key."""

from __future__ import annotations

from typing import Any

from nnctl.config.config import Config
from nnctl.config.keys import (
    BATCH_NORM_KEYS,
    DATASET_ALIASES,
    DATASET_FILE_KEYS,
    DATASET_READER_KEYS,
    DATASET_SYNTHETIC_KEYS,
    Key,
    config_keys,
    hyperparameter_owners,
)
from nnctl.config.values import REQUIRED, pin_schedule, synthetic_names
from nnctl.system import ConfigError, Invalid, describe, did_you_mean, quote_text


def _check_mapping(raw: dict, keys: dict[str, Key], where: str, source: str) -> dict:
    unknown = [k for k in raw if k not in keys]
    if unknown:
        k = unknown[0]
        hint = did_you_mean(quote_text(str(k), 60), list(keys))
        raise ConfigError(
            f"{source}: unknown key '{where}{quote_text(str(k), 60)}'{hint}; "
            f"valid keys: {', '.join(keys)}"
        )
    out = {}
    for k, spec in keys.items():
        if k not in raw or (raw[k] is None and spec.default is None):
            # an optional key given as null means "the default", as config.yaml writes it
            if spec.default is REQUIRED:
                raise ConfigError(f"{source}: missing required key {where}{k}")
            out[k] = spec.default
            continue
        try:
            out[k] = spec.check(raw[k])
        except Invalid as exc:
            raise ConfigError(f"{source}: {where}{k}: {exc}") from None
    return out


def expand_dataset(value: Any) -> Any:
    """``dataset: planar`` is short for {synthetic: planar}; ``dataset: f.h5`` for {train: f.h5}."""
    if isinstance(value, str):
        return {"synthetic": value} if value in synthetic_names() else {"train": value}
    return value


def _check_dataset(value: Any, source: str) -> dict:
    value = expand_dataset(value)
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: dataset: expected a mapping like {{synthetic: planar}} or "
            f"{{train: data/train.h5, test: data/test.h5}}, got {describe(value)}"
        )
    for alias, (key, _) in DATASET_ALIASES.items():
        if alias in value and key not in value and "synthetic" not in value:
            value = {key: value[alias], **{k: v for k, v in value.items() if k != alias}}
    if "synthetic" in value and "train" in value:
        raise ConfigError(f"{source}: dataset: give either 'synthetic' or 'train', not both")
    keys = (
        DATASET_SYNTHETIC_KEYS
        if "synthetic" in value
        else {**DATASET_FILE_KEYS, **DATASET_READER_KEYS}
    )
    if "synthetic" not in value and "train" not in value:
        raise ConfigError(
            f"{source}: dataset: needs 'synthetic' (one of {', '.join(synthetic_names())}) "
            "or 'train' (a data file)"
        )
    out = _check_mapping(value, keys, "dataset.", source)
    if "synthetic" not in out:
        out = {k: v for k, v in out.items() if k in DATASET_FILE_KEYS or v is not None}
    if "synthetic" in out and out.get("stratify") is None:
        out.pop("stratify", None)  # listed only when set: existing configs resolve as before
    if "synthetic" in out and out["noise"] is None:
        from nnctl.data import SYNTHETIC

        out["noise"] = SYNTHETIC[out["synthetic"]].noise
    return out


def resolve(raw: Any, source: str, default_name: str = "run", path: str | None = None) -> Config:
    """Validates a parsed config mapping and fills in defaults. Raises ConfigError."""
    from nnctl.core import LOSSES, OUTPUT_LOSS

    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: expected a mapping of config keys at the top level, got {describe(raw)}"
        )
    d = _check_mapping(raw, config_keys(), "", source)
    d["dataset"] = _check_dataset(d["dataset"], source)
    dims, acts = d["layer_dims"], d["activations"]
    n_layers = len(dims) - 1
    if isinstance(acts, dict):
        if n_layers > 1 and "hidden" not in acts:
            raise ConfigError(
                f"{source}: activations: 'hidden' is needed for {n_layers - 1} hidden layer(s)"
            )
        acts = [acts.get("hidden")] * (n_layers - 1) + [acts["output"]]
    from nnctl.core import hidden_activation_names

    hidden_ok = hidden_activation_names()
    for i, name in enumerate(acts[:-1]):
        if name not in hidden_ok:
            raise ConfigError(
                f"{source}: activations: entry {i}: {name} is an output activation only; "
                f"hidden layers can use {', '.join(hidden_ok)}"
            )
    if len(acts) != n_layers:
        raise ConfigError(
            f"{source}: activations has {len(acts)} entries but layer_dims {dims} describes "
            f"{n_layers} layer(s); give one activation per layer"
        )
    output = acts[-1]
    if d["loss"] is None:
        if output not in OUTPUT_LOSS:
            raise ConfigError(
                f"{source}: activations: output activation {output!r} has no loss; "
                f"valid output activations: {', '.join(OUTPUT_LOSS)}"
            )
        d["loss"] = OUTPUT_LOSS[output]
    elif LOSSES[d["loss"]].output != output:
        raise ConfigError(
            f"{source}: loss: {d['loss']} needs a {LOSSES[d['loss']].output} output layer, "
            f"but the output activation is {output}"
        )
    problem = LOSSES[d["loss"]].units(dims[-1], None)
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")
    d["activations"] = acts
    d["name"] = d["name"] or default_name
    baseline = (d["diagnose"] or {}).get("baseline")
    if baseline is not None and baseline > 1 and LOSSES[d["loss"]].task == "classification":
        raise ConfigError(
            f"{source}: diagnose.baseline: must be in [0, 1] for a classifier "
            f"(an error rate: 1 - accuracy), got {baseline}"
        )
    _check_training_keys(d, source)
    return Config(**d, source=source, path=path)


def _check_batch_norm(
    value: dict | None, n_hidden: int, batch_size: int | None, source: str
) -> dict | None:
    """``batch_norm``'s keys checked (did you mean included), its layers expanded to one flag
    per hidden layer; None when no layer is normalized."""
    if value is None:
        return None
    bn = _check_mapping(value, BATCH_NORM_KEYS, "batch_norm.", source)
    layers = bn["layers"]
    if n_hidden == 0 and layers is not False:
        raise ConfigError(
            f"{source}: batch_norm: the network has no hidden layer to normalize (batch "
            "normalization applies to hidden layers only)"
        )
    if isinstance(layers, bool):
        layers = [layers] * n_hidden
    elif len(layers) != n_hidden:
        raise ConfigError(
            f"{source}: batch_norm.layers: got {len(layers)} entries but the network has "
            f"{n_hidden} hidden layer(s); give one true/false per hidden layer, or true"
        )
    if not any(layers):
        return None
    if batch_size == 1:
        raise ConfigError(
            f"{source}: batch_norm: needs at least 2 examples per mini-batch (the batch's mean "
            "and variance), but batch_size is 1; use a batch_size of 2 or more"
        )
    return {**bn, "layers": layers}


def _check_training_keys(d: dict, source: str) -> None:
    """Cross-checks of the optimisation, regularization and validation keys; fills ``d`` in."""
    if (d["iterations"] is None) == (d["epochs"] is None):
        both = "both are set" if d["iterations"] is not None else "neither is set"
        raise ConfigError(
            f"{source}: give exactly one of iterations (gradient steps) or epochs "
            f"(passes over the training set); {both}"
        )
    from nnctl.core import OPTIMIZERS

    chosen = OPTIMIZERS[d["optimizer"]].HYPERPARAMETERS
    for key, owners in hyperparameter_owners().items():
        value = d.pop(key)
        if key in chosen:
            d.setdefault("hyperparameters", {})[key] = (
                chosen[key].default if value is None else value
            )
        elif value is not None:
            opt = owners[0]
            raise ConfigError(
                f"{source}: {key}: only used by optimizer {' or '.join(owners)}, "
                f"but optimizer is {d['optimizer']}; remove it or set optimizer: {opt}"
            )
    if d["lr_schedule"] is not None and d["lr_decay"] is not None:
        raise ConfigError(
            f"{source}: lr_decay: is the older spelling of lr_schedule: {{name: inverse_time, "
            "decay_rate, time_interval}; give lr_schedule or lr_decay, not both"
        )
    # the run's length in epochs, when the config alone tells it (full batch: one per step)
    run_epochs = d["epochs"] or (d["iterations"] if d["batch_size"] is None else None)
    try:
        d["lr_schedule"] = pin_schedule(d["lr_schedule"], run_epochs, d["learning_rate"])
    except Invalid as exc:
        raise ConfigError(f"{source}: lr_schedule: {exc}") from None
    n_hidden = len(d["layer_dims"]) - 2
    keep = d["dropout"]
    if isinstance(keep, float):
        keep = [keep] * n_hidden
    if keep is not None:
        if n_hidden == 0:
            raise ConfigError(
                f"{source}: dropout: the network has no hidden layer to drop units from"
            )
        if len(keep) != n_hidden:
            raise ConfigError(
                f"{source}: dropout: got {len(keep)} keep probabilities but the network "
                f"has {n_hidden} hidden layer(s); give one per hidden layer or a single number"
            )
        if all(k == 1.0 for k in keep):
            keep = None  # keeping every unit is no dropout; don't draw masks for nothing
    d["dropout"] = keep
    d["batch_norm"] = _check_batch_norm(d["batch_norm"], n_hidden, d["batch_size"], source)
    has_val_file = bool(d["dataset"].get("val"))
    if has_val_file and d["validation_fraction"] > 0:
        raise ConfigError(
            f"{source}: validation_fraction: the dataset already has a val file "
            f"({d['dataset']['val']}); use one or the other"
        )
    if d["early_stopping"] is not None and not (has_val_file or d["validation_fraction"] > 0):
        raise ConfigError(
            f"{source}: early_stopping: needs a validation set; set validation_fraction "
            "(e.g. 0.2) or dataset.val"
        )
