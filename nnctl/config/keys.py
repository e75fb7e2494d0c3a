"""The key table: every key a config may have, with its value check, default and help.

``CONFIG_KEYS`` holds the top-level keys, ``config_keys()`` adds each optimizer's
hyperparameters; the dataset's keys are ``DATASET_SYNTHETIC_KEYS`` (a generator) or
``DATASET_FILE_KEYS`` with ``DATASET_READER_KEYS`` (files and how to read them). Validation
(``resolution``), the JSON Schema (``schema``), the key reference (``keydocs``), ``--set``
completion and the ``Config`` fields all read these tables; nothing else lists keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnctl.config.values import (
    REQUIRED,
    check_activations,
    check_batch_norm,
    check_bool,
    check_class_weight,
    check_columns,
    check_diagnose,
    check_dropout,
    check_early_stopping,
    check_layer_dims,
    check_lr_decay,
    check_lr_schedule,
    check_norm_layers,
    check_shuffle,
    check_size,
    check_source,
    check_stream,
    check_tracking,
    init_names,
    kind_names,
    loss_names,
    optimizer_names,
    synthetic_names,
)
from nnctl.system import (
    choice,
    fraction,
    non_negative_number,
    optional,
    positive_int,
    positive_number,
    seed_int,
    string,
)


@dataclass(frozen=True)
class Key:
    """One config key: its value check, its default (REQUIRED: none) and what it means.
    fast_path_ok: the factored full-batch loop (``nnctl.training.fullbatch``) implements every
    value of this key; for any other key it is used only while the key is at its default, so a
    new key is never silently ignored there."""

    check: Callable[[Any], Any]
    default: Any = REQUIRED
    doc: str = ""
    fast_path_ok: bool = False


DATASET_FILE_KEYS: dict[str, Key] = {
    "train": Key(
        check_source, doc="training data: an image folder, HDF5, CSV, .npz, or {x: .npy, y: .npy}"
    ),
    "val": Key(
        optional(check_source),
        None,
        "validation data, same kind (optional; or validation_fraction)",
    ),
    "test": Key(optional(check_source), None, "test data, same kind (optional; or test_fraction)"),
}

DATASET_ALIASES: dict[str, tuple[str, str]] = {
    "images": ("train", "an image folder: the same as train"),
}
"""Other names of dataset file keys: name -> (the key it stands for, help)."""

DATASET_SHORTHAND = "a generator name (short for {synthetic: NAME}) or a training file"
"""What ``dataset: NAME`` (a string, not a mapping) means."""

# Reading options; a resolved config lists only those that are set.
DATASET_READER_KEYS: dict[str, Key] = {
    "kind": Key(
        optional(choice(kind_names)),
        None,
        "the kind of data (default: from the path; config show prints it)",
    ),
    "test_fraction": Key(
        optional(fraction(0.0, 1.0)), None, "share of the training data held out as the test set"
    ),
    "seed": Key(optional(seed_int), None, "seed of that test split (default 1)"),
    "stratify": Key(
        optional(check_bool),
        None,
        "true: split test_fraction per class, each class keeping its share (classifiers)",
    ),
    "label": Key(
        optional(check_columns),
        None,
        "CSV: the target column(s), name or index (default: the last)",
    ),
    "features": Key(
        optional(check_columns), None, "CSV: the input columns (default: all but the label)"
    ),
    "delimiter": Key(
        optional(choice([",", ";", "\t", "|"])),
        None,
        "CSV: the field separator (default: detected)",
    ),
    "x_key": Key(optional(string), None, "HDF5/.npz: the examples' array (default: *_x, x or X)"),
    "y_key": Key(optional(string), None, "HDF5/.npz: the labels' array (default: *_y, y or Y)"),
    "size": Key(
        optional(check_size), None, "image folders: [height, width] (default: the first image's)"
    ),
    "color": Key(
        optional(choice(["rgb", "grayscale"])),
        None,
        "image folders: rgb or grayscale (default rgb)",
    ),
    "skip_bad": Key(
        optional(check_bool), None, "image folders: skip unreadable files with a warning"
    ),
    "stream": Key(
        check_stream,
        None,
        "true: read mini-batches from an HDF5 file on disk (data larger than memory); "
        "absent: when it would not fit",
    ),
}

DATASET_SYNTHETIC_KEYS: dict[str, Key] = {
    "synthetic": Key(choice(synthetic_names), doc="generator name"),
    "m": Key(positive_int, 400, "number of examples generated (train + test)"),
    "test_fraction": Key(fraction(0.0, 1.0), 0.2, "share of examples held out as the test set"),
    "seed": Key(seed_int, 1, "seed of the generator and of the train/test split"),
    "stratify": Key(
        optional(check_bool),
        None,
        "true: split test_fraction per class, each class keeping its share (classifiers)",
    ),
    "noise": Key(
        optional(non_negative_number), None, "noise scale (null: the generator's default)"
    ),
}


BATCH_NORM_KEYS: dict[str, Key] = {
    "layers": Key(
        check_norm_layers,
        True,
        "true: every hidden layer; or one true/false per hidden layer",
    ),
    "momentum": Key(
        fraction(0.0, 1.0),
        0.9,
        "decay of the running mean and variance: running = momentum * running "
        "+ (1 - momentum) * batch",
    ),
    "epsilon": Key(positive_number, 1e-5, "added to the variance: (Z - mu) / sqrt(var + epsilon)"),
}
"""``batch_norm``'s own keys (``batch_norm: {layers: ..., momentum: ..., epsilon: ...}``)."""


CONFIG_KEYS: dict[str, Key] = {
    "name": Key(string, None, "run name (default: the config file's stem)", fast_path_ok=True),
    "dataset": Key(
        lambda v: v,
        doc="a synthetic generator or dataset files (docs/guides/own-data.md)",
        fast_path_ok=True,
    ),
    "layer_dims": Key(
        check_layer_dims, doc="layer sizes [n_x, n_1, ..., n_L]; n_x may be auto", fast_path_ok=True
    ),
    "activations": Key(
        check_activations,
        doc="one activation per layer, or {hidden: ..., output: ...}",
        fast_path_ok=True,
    ),
    "loss": Key(
        choice(loss_names),
        None,
        "loss (default: follows from the output activation)",
        fast_path_ok=True,
    ),
    "learning_rate": Key(positive_number, doc="gradient descent step size", fast_path_ok=True),
    "iterations": Key(
        optional(positive_int), None, "number of gradient steps (or epochs)", fast_path_ok=True
    ),
    "init": Key(choice(init_names), "scaled", "weight initializer", fast_path_ok=True),
    "seed": Key(
        seed_int,
        1,
        "seed of the weight initialization, shuffling, dropout, hold-out",
        fast_path_ok=True,
    ),
    "print_every": Key(positive_int, 100, "iterations between cost lines", fast_path_ok=True),
    "dtype": Key(
        choice(["float64", "float32"]), "float64", "floating point precision", fast_path_ok=True
    ),
    "epochs": Key(optional(positive_int), None, "passes over the training set (or iterations)"),
    "batch_size": Key(optional(positive_int), None, "examples per gradient step (null: all)"),
    "shuffle": Key(
        check_shuffle,
        None,
        "mini-batch order: null (drawn from seed) or {course: S}, the second course's "
        "random_mini_batches with seed S + 1 + epoch",
    ),
    # followed by every optimizer's hyperparameters: see config_keys()
    "optimizer": Key(choice(optimizer_names), "gd", "update rule"),
    "lr_schedule": Key(
        check_lr_schedule,
        None,
        "learning-rate schedule per epoch: a name or {name: NAME, ...} "
        "(docs/guides/training-options.md; null: constant)",
    ),
    "lr_decay": Key(
        check_lr_decay,
        None,
        "learning-rate decay {rate, interval} per epoch "
        "(the same as lr_schedule: {name: inverse_time, decay_rate, time_interval})",
    ),
    "l2": Key(non_negative_number, 0.0, "L2 regularization strength lambda"),
    "dropout": Key(check_dropout, None, "keep probability per hidden layer (null: no dropout)"),
    "batch_norm": Key(
        check_batch_norm,
        None,
        "batch normalization of the hidden layers: true, one true/false per hidden layer, or "
        "{layers, momentum, epsilon} (batch_norm.*; null: none)",
    ),
    "validation_fraction": Key(fraction(0.0, 1.0), 0.0, "share of training examples held out"),
    "class_weight": Key(
        check_class_weight,
        None,
        "classifiers: balanced or {class: weight, ...}; weighs the training and the validation "
        "loss (docs/guides/training-options.md; null: every class 1)",
    ),
    "early_stopping": Key(check_early_stopping, None, "{patience, min_delta} on validation loss"),
    "checkpoint_every": Key(optional(positive_int), None, "iterations between checkpoints"),
    "normalize": Key(
        choice(["auto", "standard", "minmax", "none"]),
        "auto",
        "feature scaling from training-split statistics (auto: standard for CSV/NumPy, else none)",
        fast_path_ok=True,
    ),
    # read by `nnctl diagnose` and the report, never by training
    "diagnose": Key(
        check_diagnose, None, "{baseline: error} for nnctl diagnose (null: 0)", fast_path_ok=True
    ),
    # read by the trackers (nnctl.tracking) after the run, and for histograms while it trains
    "tracking": Key(
        check_tracking,
        None,
        "also log the run to {mlflow: true or a tracking URI, tensorboard: true or a log "
        "folder, experiment: NAME, histograms_every: N epochs or auto} "
        "(docs/guides/tracking.md; null: not logged)",
        fast_path_ok=True,
    ),
}
"""The config's own keys. ``config_keys()`` adds the optimizers' hyperparameters."""


def hyperparameter_owners() -> dict[str, list[str]]:
    """Each optimizer hyperparameter's name -> the optimizers that take it, in table order."""
    from nnctl.core import OPTIMIZERS

    owners: dict[str, list[str]] = {}
    for opt, cls in OPTIMIZERS.items():
        for key in cls.HYPERPARAMETERS:
            owners.setdefault(key, []).append(opt)
    return owners


def config_keys() -> dict[str, Key]:
    """Every key a config may have: ``CONFIG_KEYS``, with each optimizer's hyperparameters
    (``HYPERPARAMETERS`` on its class in ``optimizers.OPTIMIZERS``) after ``optimizer``. Such a
    key is null unless its optimizer is chosen, then it defaults to the optimizer's value.
    Looked up when called, so a newly registered optimizer's keys are known."""
    from nnctl.core import OPTIMIZERS

    # a hyperparameter several optimizers take (beta2, epsilon) is one key: the first owner's
    # check, and each owner's meaning and default in its help
    specs: dict[str, list[tuple[str, Any]]] = {}
    for opt, cls in OPTIMIZERS.items():
        for hp, spec in cls.HYPERPARAMETERS.items():
            specs.setdefault(hp, []).append((opt, spec))
    out: dict[str, Key] = {}
    for name, key in CONFIG_KEYS.items():
        out[name] = key
        if name == "optimizer":
            for hp, owned in specs.items():
                doc = "; ".join(
                    f"{opt}'s {spec.doc} (default {spec.default})" for opt, spec in owned
                )
                out[hp] = Key(optional(owned[0][1].check), None, doc)
    return out
