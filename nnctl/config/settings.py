"""Config files: strict YAML loading, ``--set`` overrides, validation against a key table.

Layers, in order: the table's defaults, the YAML file, then ``--set KEY=VALUE`` overrides;
validation runs once on the result, so an override is checked exactly like the file. Every
mistake raises ``ConfigError`` with one line naming the file (or override), the key, what was
found and what would be valid.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nnctl.system import (
    ConfigError,
    Invalid,
    choice,
    describe,
    did_you_mean,
    each,
    fraction,
    non_negative_number,
    number,
    optional,
    positive_int,
    positive_number,
    quote,
    quote_text,
    seed_int,
    string,
)

if TYPE_CHECKING:
    from nnctl.core import Architecture

# --------------------------------------------------------------------------- YAML loading


# libyaml's C parser where PyYAML has it: a large config parses in a fraction of the time.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A config nests three levels deep and holds a few dozen values. These bounds are far above
# any real config and far below what an attack needs: aliases can make a 400-byte file stand
# for billions of values ("billion laughs"), and deep nesting exhausts the stack.
MAX_YAML_DEPTH = 50
MAX_YAML_NODES = 100_000  # values after expanding aliases


class _Strict:
    """A SafeLoader that reads ``1e-3`` as a float and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _DuplicateKey(
                    f"duplicate key {quote(key)} (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_Strict, _SafeLoader):  # type: ignore[misc, valid-type]
    pass


class _PyStrictLoader(_Strict, yaml.SafeLoader):
    """The pure-Python parser: used again on a syntax error only, for its clearer wording."""


class _DuplicateKey(Exception):
    pass


class _TooBig(Exception):
    pass


# YAML 1.1 floats need a dot, so PyYAML reads 1e-3 as the *string* '1e-3'. Add the YAML 1.2
# exponent forms (1e-3, 5E4, -2e+1) to the float resolver.
for _loader in (_StrictLoader, _PyStrictLoader):
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_size(root: yaml.Node) -> None:
    """Refuses a document nested deeper than MAX_YAML_DEPTH or standing for more than
    MAX_YAML_NODES values once its aliases are expanded, or an alias that contains itself.
    Iterative, and each node is visited once however often it is aliased."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            active.discard(key)
            if size[key] > MAX_YAML_NODES:
                raise _TooBig(f"aliases expand to more than {MAX_YAML_NODES:,} values")
            if depth[key] > MAX_YAML_DEPTH:
                raise _TooBig(f"nested more than {MAX_YAML_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in active:
            raise _TooBig("an alias refers to a value that contains it")
        if len(active) > MAX_YAML_DEPTH:
            raise _TooBig(f"nested more than {MAX_YAML_DEPTH} levels deep")
        active.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely (no ``!!python/...`` tags); errors become one-line ConfigErrors.
    Refuses text over ``resources.MAX_CONFIG_BYTES``, nesting over MAX_YAML_DEPTH and aliases
    expanding to over MAX_YAML_NODES values, before constructing anything."""
    from nnctl.system import MAX_CONFIG_BYTES, human_bytes

    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{source}: {human_bytes(len(text))} of YAML, more than a config may have "
            f"({human_bytes(MAX_CONFIG_BYTES)})"
        )
    return _parse(text, source, _StrictLoader)


def _parse(text: str, source: str, loader_class: type) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: {exc}; each key may appear once") from None
    except _TooBig as exc:
        raise ConfigError(f"{source}: refused: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: refused: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        if loader_class is not _PyStrictLoader:
            # libyaml says "did not find expected ','"; PyYAML's wording names what it got
            _parse(text, source, _PyStrictLoader)
        where = ""
        if exc.problem_mark is not None:
            where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}: "
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "python/" in str(exc):
            problem = f"{problem} (python tags are not allowed in configs)"
        raise ConfigError(f"{source}: {where}{quote_text(problem)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{source}: invalid YAML: {quote_text(str(exc).splitlines()[0])}"
        ) from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- value checks


def _activation_names() -> list[str]:
    from nnctl.core import ACTIVATIONS

    return list(ACTIVATIONS)


def _loss_names() -> list[str]:
    from nnctl.core import LOSSES

    return list(LOSSES)


def _init_names() -> list[str]:
    from nnctl.core import INITIALIZERS

    return list(INITIALIZERS)


def _optimizer_names() -> list[str]:
    from nnctl.core import OPTIMIZERS

    return list(OPTIMIZERS)


def _synthetic_names() -> list[str]:
    from nnctl.data import SYNTHETIC

    return list(SYNTHETIC)


def check_layer_dims(value: Any) -> list:
    if not isinstance(value, list):
        raise Invalid(
            f"expected a list of layer sizes like [auto, 20, 7, 1], got {describe(value)}"
        )
    if len(value) < 2:
        raise Invalid(f"needs at least 2 entries (input and output sizes), got {quote(value)}")
    out: list = []
    for i, v in enumerate(value):
        if i == 0 and v == "auto":
            out.append("auto")
            continue
        try:
            out.append(positive_int(v))
        except Invalid as exc:
            extra = " ('auto' is allowed only as the first entry)" if v == "auto" else ""
            raise Invalid(f"entry {i}: {exc}{extra}") from None
    return out


def check_activations(value: Any) -> list[str] | dict[str, str]:
    """A list with one name per layer, or {hidden: NAME, output: NAME} (expanded later)."""
    names = _activation_names()
    check = choice(names)
    if isinstance(value, dict):
        unknown = set(value) - {"hidden", "output"}
        if unknown or "output" not in value:
            raise Invalid(
                "as a mapping, needs exactly the keys 'hidden' and 'output', "
                f"got {', '.join(map(str, value)) or 'none'}"
            )
        out = {}
        for k in ("hidden", "output"):
            if k in value:
                try:
                    out[k] = check(value[k])
                except Invalid as exc:
                    raise Invalid(f"{k}: {exc}") from None
        return out
    if not isinstance(value, list) or not value:
        raise Invalid(
            f"expected a list of names (one per layer) or {{hidden: relu, output: sigmoid}}, got {describe(value)}"
        )
    return each(value, check)


def keep_probability(value: Any) -> float:
    v = float(number(value))
    if not 0 < v <= 1:
        raise Invalid(f"a keep probability must be in (0, 1] (1 keeps every unit), got {v}")
    return v


def check_dropout(value: Any) -> float | list[float] | None:
    """One keep probability for every hidden layer, or a list with one per hidden layer."""
    if value is None:
        return None
    if isinstance(value, list):
        return each(value, keep_probability)
    try:
        return keep_probability(value)
    except Invalid as exc:
        raise Invalid(f"{exc}; or give a list with one keep probability per hidden layer") from None


def _sub_mapping(
    value: Any, keys: dict[str, tuple[Callable[[Any], Any], Any]], example: str
) -> dict:
    """A small nested mapping: known keys only, each checked; REQUIRED ones must be present."""
    if not isinstance(value, dict):
        raise Invalid(f"expected a mapping like {example}, got {describe(value)}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise Invalid(f"unknown key {quote(unknown[0])}; valid keys: {', '.join(keys)}")
    out = {}
    for k, (check, default) in keys.items():
        if k not in value:
            if default is REQUIRED:
                raise Invalid(f"missing key {k!r} (e.g. {example})")
            out[k] = default
            continue
        try:
            out[k] = check(value[k])
        except Invalid as exc:
            raise Invalid(f"{k}: {exc}") from None
    return out


def check_lr_decay(value: Any) -> dict | None:
    """``{rate: r, interval: n}``, or a bare rate (interval 1): lr = lr0 / (1 + r floor(epoch / n))."""
    if value is None:
        return None
    if not isinstance(value, dict):
        try:
            return {"rate": non_negative_number(value), "interval": 1}
        except Invalid:
            raise Invalid(
                f"expected a decay rate like 0.1 or {{rate: 0.1, interval: 10}}, got {describe(value)}"
            ) from None
    return _sub_mapping(
        value,
        {"rate": (non_negative_number, REQUIRED), "interval": (positive_int, 1)},
        "{rate: 0.1, interval: 10}",
    )


def check_stream(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(
            f"expected true (stream mini-batches from disk) or false (load the data whole), "
            f"got {describe(value)}"
        )
    return value


def check_early_stopping(value: Any) -> dict | None:
    if value is None:
        return None
    return _sub_mapping(
        value,
        {"patience": (positive_int, REQUIRED), "min_delta": (non_negative_number, 0.0)},
        "{patience: 10, min_delta: 0.0001}",
    )


# --------------------------------------------------------------------------- the key tables

REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """One config key: its value check, its default (REQUIRED: none) and what it means.
    fast_path_ok: the factored full-batch loop (``nnctl.training.fullbatch``) implements every value of
    this key; for any other key it is used only while the key is at its default, so a new key
    is never silently ignored there."""

    check: Callable[[Any], Any]
    default: Any = REQUIRED
    doc: str = ""
    fast_path_ok: bool = False


def check_source(value: Any) -> str | dict:
    """A data path (file or image folder), or a NumPy pair ``{x: x.npy, y: y.npy}``."""
    if isinstance(value, dict):
        return _sub_mapping(
            value,
            {"x": (string, REQUIRED), "y": (string, REQUIRED)},
            "{x: x_train.npy, y: y_train.npy}",
        )
    return string(value)


def check_columns(value: Any) -> Any:
    """A column name or index, or a list of them."""

    def one(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise Invalid(f"expected a column name or index, got {describe(v)}")
        return v

    return each(value, one) if isinstance(value, list) else one(value)


def check_size(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) != 2:
        raise Invalid(f"expected [height, width] like [64, 64], got {describe(value)}")
    return each(value, positive_int)


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {describe(value)}")
    return value


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


# Reading options; a resolved config lists only those that are set.
def _kind_names() -> list[str]:
    from nnctl.data import KINDS

    return list(KINDS)


DATASET_READER_KEYS: dict[str, Key] = {
    "kind": Key(
        optional(choice(_kind_names)),
        None,
        "the kind of data (default: from the path; config show prints it)",
    ),
    "test_fraction": Key(
        optional(fraction(0.0, 1.0)), None, "share of the training data held out as the test set"
    ),
    "seed": Key(optional(seed_int), None, "seed of that test split (default 1)"),
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
    "synthetic": Key(choice(_synthetic_names), doc="generator name"),
    "m": Key(positive_int, 400, "number of examples generated (train + test)"),
    "test_fraction": Key(fraction(0.0, 1.0), 0.2, "share of examples held out as the test set"),
    "seed": Key(seed_int, 1, "seed of the generator and of the train/test split"),
    "noise": Key(
        lambda v: None if v is None else non_negative_number(v),
        None,
        "noise scale (null: the generator's default)",
    ),
}


CONFIG_KEYS: dict[str, Key] = {
    "name": Key(string, None, "run name (default: the config file's stem)", fast_path_ok=True),
    "dataset": Key(
        lambda v: v, doc="a synthetic generator or dataset files, see README", fast_path_ok=True
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
        choice(_loss_names),
        None,
        "loss (default: follows from the output activation)",
        fast_path_ok=True,
    ),
    "learning_rate": Key(positive_number, doc="gradient descent step size", fast_path_ok=True),
    "iterations": Key(
        optional(positive_int), None, "number of gradient steps (or epochs)", fast_path_ok=True
    ),
    "init": Key(choice(_init_names), "scaled", "weight initializer", fast_path_ok=True),
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
    # followed by every optimizer's hyperparameters: see config_keys()
    "optimizer": Key(choice(_optimizer_names), "gd", "update rule"),
    "lr_decay": Key(check_lr_decay, None, "learning-rate decay {rate, interval} per epoch"),
    "l2": Key(non_negative_number, 0.0, "L2 regularization strength lambda"),
    "dropout": Key(check_dropout, None, "keep probability per hidden layer (null: no dropout)"),
    "validation_fraction": Key(fraction(0.0, 1.0), 0.0, "share of training examples held out"),
    "early_stopping": Key(check_early_stopping, None, "{patience, min_delta} on validation loss"),
    "checkpoint_every": Key(optional(positive_int), None, "iterations between checkpoints"),
    "normalize": Key(
        choice(["auto", "standard", "minmax", "none"]),
        "auto",
        "feature scaling from training-split statistics (auto: standard for CSV/NumPy, else none)",
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

    out: dict[str, Key] = {}
    for name, key in CONFIG_KEYS.items():
        out[name] = key
        if name == "optimizer":
            for opt, cls in OPTIMIZERS.items():
                for hp, spec in cls.HYPERPARAMETERS.items():
                    out.setdefault(
                        hp,
                        Key(
                            optional(spec.check),
                            None,
                            f"{opt}'s {spec.doc} (default {spec.default})",
                        ),
                    )
    return out


@dataclass(frozen=True)
class Config:
    """A fully resolved, validated config. ``to_dict()`` is what ``config.yaml`` holds."""

    name: str
    dataset: dict[str, Any]
    layer_dims: list
    activations: list[str]
    loss: str
    learning_rate: float
    iterations: int
    init: str
    seed: int
    print_every: int
    dtype: str
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str = "gd"
    # the chosen optimizer's hyperparameters (all of them, defaults filled in): {'beta1': 0.9, ...}
    hyperparameters: dict[str, float] = field(default_factory=dict)
    lr_decay: dict | None = None
    l2: float = 0.0
    dropout: list[float] | None = None  # one keep probability per hidden layer
    validation_fraction: float = 0.0
    early_stopping: dict | None = None
    checkpoint_every: int | None = None
    normalize: str = "auto"  # standard | minmax | none; auto until bound to its data
    source: str = field(default="<config>", compare=False)
    # The config file's own path: relative dataset paths are also looked up beside it.
    path: str | None = field(default=None, compare=False)

    # Built once per config (a run has one): every loop, scoring and check uses these.
    @functools.cached_property
    def arch(self) -> Architecture:
        """The activations and loss looked up in their tables."""
        from nnctl.core import Architecture

        return Architecture.build(self.activations, self.loss)

    @functools.cached_property
    def float_type(self) -> type:
        """The numpy scalar type of ``dtype`` (np.float64 or np.float32)."""
        import numpy as np

        return np.dtype(self.dtype).type

    def to_dict(self) -> dict[str, Any]:
        """Every key of ``config_keys()``, in its order; other optimizers' hyperparameters null."""
        d = dataclasses.asdict(self)
        return {k: d[k] if k in CONFIG_KEYS else self.hyperparameters.get(k) for k in config_keys()}

    def warnings(self) -> list[str]:
        """Settings that are allowed but almost certainly not what a user wants, one line each."""
        out = []
        if self.init == "zeros" and len(self.layer_dims) > 2:
            out.append(
                f"{self.source}: init: zeros with {len(self.layer_dims) - 2} hidden layer(s): every unit "
                "of a layer gets the same gradient and stays identical to the others (no symmetry "
                "breaking); use scaled, small, he or xavier unless that is the point"
            )
        return out

    def with_input_dim(self, n_x: int) -> Config:
        """Binds ``layer_dims[0]`` to the data's feature count, or refuses a mismatch."""
        first = self.layer_dims[0]
        if first != "auto" and first != n_x:
            raise ConfigError(
                f"{self.source}: layer_dims[0] is {first} but the dataset has {n_x} features "
                f"per example; use {n_x} or auto"
            )
        return dataclasses.replace(self, layer_dims=[n_x, *self.layer_dims[1:]])


# --------------------------------------------------------------------------- resolution


def _check_mapping(raw: dict, keys: dict[str, Key], where: str, source: str) -> dict:
    unknown = [k for k in raw if k not in keys]
    if unknown:
        k = unknown[0]
        hint = did_you_mean(quote_text(str(k), 60), list(keys))
        raise ConfigError(
            f"{source}: unknown key '{where}{quote_text(str(k), 60)}'{hint}; valid keys: {', '.join(keys)}"
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
        return {"synthetic": value} if value in _synthetic_names() else {"train": value}
    return value


def _check_dataset(value: Any, source: str) -> dict:
    value = expand_dataset(value)
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: dataset: expected a mapping like {{synthetic: planar}} or "
            f"{{train: data/train.h5, test: data/test.h5}}, got {describe(value)}"
        )
    if "images" in value and "train" not in value and "synthetic" not in value:
        value = {"train": value["images"], **{k: v for k, v in value.items() if k != "images"}}
    if "synthetic" in value and "train" in value:
        raise ConfigError(f"{source}: dataset: give either 'synthetic' or 'train', not both")
    keys = (
        DATASET_SYNTHETIC_KEYS
        if "synthetic" in value
        else {**DATASET_FILE_KEYS, **DATASET_READER_KEYS}
    )
    if "synthetic" not in value and "train" not in value:
        raise ConfigError(
            f"{source}: dataset: needs 'synthetic' (one of {', '.join(_synthetic_names())}) "
            "or 'train' (a data file)"
        )
    out = _check_mapping(value, keys, "dataset.", source)
    if "synthetic" not in out:
        out = {k: v for k, v in out.items() if k in DATASET_FILE_KEYS or v is not None}
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
    _check_training_keys(d, source)
    return Config(**d, source=source, path=path)


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


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Reads, overrides and validates a config file. Raises ConfigError."""
    p = Path(path)
    source = str(path)
    from nnctl.system import MAX_CONFIG_BYTES, NotRegularFile, TooLarge, read_capped

    try:
        # A FIFO would block forever and /dev/zero never end: regular files, size capped.
        text = read_capped(p, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except (IsADirectoryError, NotRegularFile) as exc:
        what = (
            "is a directory" if isinstance(exc, IsADirectoryError) else exc.strerror.split(",")[0]
        )
        raise ConfigError(f"{source}: {what}, expected a YAML config file") from None
    except TooLarge as exc:
        raise ConfigError(f"{source}: {exc.strerror}, more than a config may have") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not a text file (expected UTF-8 YAML)") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    raw = parse_yaml(text, source)
    if overrides:
        raw = apply_overrides(raw, overrides, source)
        source = f"{source} (with --set)"
    return resolve(raw, source, default_name=p.stem, path=str(p.absolute()))


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML; ``load_config`` reads it back to an equal Config."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None)
