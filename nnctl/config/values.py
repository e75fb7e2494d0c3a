"""The config's own value checks: layer sizes, activations, dropout, learning-rate decay and
schedules, early stopping and the dataset's sources, columns and image sizes. The checks of
single numbers, names and strings are ``nnctl.system``'s; these build on them. Each returns
the value (normalized) or raises ``Invalid``; the caller adds the key and the file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnctl.system import (
    Invalid,
    choice,
    describe,
    did_you_mean,
    each,
    non_negative_number,
    number,
    optional,
    positive_int,
    positive_number,
    quote,
    quote_list,
    seed_int,
    string,
)

REQUIRED = object()
"""The default of a key (or sub-key) that has none: it must be given."""


# The names in the registry tables, looked up when checked: a newly registered entry is
# valid at once, and importing the config does not import numpy.
def activation_names() -> list[str]:
    from nnctl.core import ACTIVATIONS

    return list(ACTIVATIONS)


def loss_names() -> list[str]:
    from nnctl.core import LOSSES

    return list(LOSSES)


def init_names() -> list[str]:
    from nnctl.core import INITIALIZERS

    return list(INITIALIZERS)


def optimizer_names() -> list[str]:
    from nnctl.core import OPTIMIZERS

    return list(OPTIMIZERS)


def schedule_names() -> list[str]:
    from nnctl.core import LR_SCHEDULES

    return list(LR_SCHEDULES)


def synthetic_names() -> list[str]:
    from nnctl.data import SYNTHETIC

    return list(SYNTHETIC)


def kind_names() -> list[str]:
    from nnctl.data import KINDS

    return list(KINDS)


def check_layer_dims(value: Any) -> list:
    """``[n_x, n_1, ..., n_L]``: positive sizes, at least input and output; ``n_x`` may be
    ``auto`` (the data's feature count, bound later)."""
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
    names = activation_names()
    check = choice(names)
    if isinstance(value, dict):
        unknown = set(value) - {"hidden", "output"}
        if unknown or "output" not in value:
            raise Invalid(
                "as a mapping, needs exactly the keys 'hidden' and 'output', "
                f"got {quote_list(list(value)) or 'none'}"
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
            "expected a list of names (one per layer) or {hidden: relu, output: sigmoid}, "
            f"got {describe(value)}"
        )
    return each(value, check)


def keep_probability(value: Any) -> float:
    """A dropout keep probability, in (0, 1]."""
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
        hint = did_you_mean(str(unknown[0]), list(keys))
        raise Invalid(f"unknown key {quote(unknown[0])}{hint}; valid keys: {', '.join(keys)}")
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
    """``{rate: r, interval: n}``, or a bare rate (interval 1):
    lr = lr0 / (1 + r floor(epoch / n))."""
    if value is None:
        return None
    if not isinstance(value, dict):
        try:
            return {"rate": non_negative_number(value), "interval": 1}
        except Invalid:
            raise Invalid(
                "expected a decay rate like 0.1 or {rate: 0.1, interval: 10}, "
                f"got {describe(value)}"
            ) from None
    return _sub_mapping(
        value,
        {"rate": (non_negative_number, REQUIRED), "interval": (positive_int, 1)},
        "{rate: 0.1, interval: 10}",
    )


def check_class_weight(value: Any) -> str | dict[str, float] | None:
    """``balanced`` (n_samples / (n_classes * count) per class, counted on the training split
    when bound) or a mapping from class name to a positive, finite weight (a class left out
    weighs 1). Whole-number keys are class names too (``{0: 1, 1: 5}``: classes '0' and '1').
    Whether the names are the data's classes is checked when the config is bound to its data."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, dict) or not value:
        raise Invalid(
            f"expected balanced or a mapping like {{cat: 3, non-cat: 1}}, got {describe(value)}"
        )
    out: dict[str, float] = {}
    for name, weight in value.items():
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            raise Invalid(f"class names are strings, got {describe(name)}")
        try:
            out[str(name)] = float(positive_number(weight))
        except Invalid as exc:
            raise Invalid(f"{quote(str(name))}: {exc}") from None
    return out


def check_diagnose(value: Any) -> dict | None:
    """``{baseline: e}``: the baseline error ``nnctl diagnose`` compares training error with
    (a human-level estimate or a simple model's error), or null for none (0)."""
    if value is None:
        return None
    return _sub_mapping(
        value, {"baseline": (optional(non_negative_number), None)}, "{baseline: 0.05}"
    )


def check_lr_schedule(value: Any) -> dict | None:
    """A schedule of ``nnctl.core.LR_SCHEDULES``: its name (its settings at their defaults) or
    ``{name: NAME, setting: value, ...}``; returned as the mapping with every setting (cosine's
    ``decay_epochs`` stays null until the run's length pins it: ``resolution``)."""
    from nnctl.core.schedules import settings_of

    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise Invalid(
            "expected a schedule name like cosine or a mapping like "
            f"{{name: step, step_size: 10}}, got {describe(value)}"
        )
    if "name" not in value:
        raise Invalid(f"missing key 'name' (one of {', '.join(schedule_names())})")
    try:
        name = choice(schedule_names)(value["name"])
    except Invalid as exc:
        raise Invalid(f"name: {exc}") from None
    settings = settings_of(name)
    unknown = [k for k in value if k != "name" and k not in settings]
    if unknown:
        word = quote(unknown[0])
        hint = did_you_mean(str(unknown[0]), list(settings))
        raise Invalid(
            f"unknown key {word} for schedule {name}{hint}; "
            f"valid keys: {', '.join(['name', *settings])}"
        )
    keys: dict[str, tuple[Callable[[Any], Any], Any]] = {"name": (string, REQUIRED)}
    for k, st in settings.items():
        keys[k] = (st.check, REQUIRED) if st.required else (optional(st.check), st.default)
    return _sub_mapping(value, keys, f"{{name: {name}, {next(iter(settings))}: ...}}")


def pin_schedule(schedule: dict | None, run_epochs: int | None, lr0: float) -> dict | None:
    """The schedule with cosine's ``decay_epochs`` pinned to ``run_epochs`` when not given (the
    run's length at its start, so a run trained further keeps the rates of the epochs it
    has), checked against the run: the warm-up shorter than the decay, min_lr at most lr0.
    ``run_epochs`` None: not known yet (pinned when the data is). Raises Invalid."""
    if schedule is None or "decay_epochs" not in schedule:
        return schedule
    if schedule["min_lr"] > lr0:
        raise Invalid(
            f"min_lr {schedule['min_lr']} is above learning_rate {lr0}; "
            "give a min_lr below the starting rate"
        )
    horizon = schedule["decay_epochs"]
    if horizon is None:
        if run_epochs is None:
            return schedule
        horizon = run_epochs
    warm = schedule["warmup_epochs"]
    if warm >= horizon:
        raise Invalid(
            f"warmup_epochs {warm} is not shorter than the run's {horizon} epoch(s) of decay "
            "(decay_epochs); give fewer warm-up epochs or a longer run"
        )
    return {**schedule, "decay_epochs": horizon}


def check_shuffle(value: Any) -> dict | None:
    """``{course: S}``: the course's mini-batch order (epoch e: ``np.random.seed(S + 1 + e)``,
    then ``np.random.permutation(m)``, as its ``random_mini_batches``); null: nnctl's own."""
    if value is None:
        return None
    if not isinstance(value, dict) or list(value) != ["course"]:
        raise Invalid(
            "expected {course: 10} (the course's per-epoch seeds, from 10 + 1) or null "
            f"(nnctl's shuffling from seed), got {describe(value)}"
        )
    try:
        return {"course": seed_int(value["course"])}
    except Invalid as exc:
        raise Invalid(f"course: {exc}") from None


def check_batch_norm(value: Any) -> dict | None:
    """``batch_norm``'s forms: true or false (every hidden layer or none), a list of true/false
    (one per hidden layer) or a mapping of the ``batch_norm.*`` keys (``keys.BATCH_NORM_KEYS``:
    layers, momentum, epsilon). Returned as that mapping, checked key by key and expanded to
    the layers by resolution."""
    if value is None:
        return None
    if isinstance(value, (bool, list)):
        return {"layers": value}
    if not isinstance(value, dict):
        raise Invalid(
            "expected true, a list of true/false (one per hidden layer) or a mapping like "
            f"{{layers: true, momentum: 0.9, epsilon: 1e-5}}, got {describe(value)}"
        )
    return value


def check_norm_layers(value: Any) -> bool | list[bool]:
    """``batch_norm.layers``: true/false for every hidden layer, or one per hidden layer."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and value:
        return each(value, check_bool)
    raise Invalid(
        "expected true, false or a list with one true/false per hidden layer, "
        f"got {describe(value)}"
    )


def check_stream(value: Any) -> bool:
    """``dataset.stream``: true or false."""
    if not isinstance(value, bool):
        raise Invalid(
            f"expected true (stream mini-batches from disk) or false (load the data whole), "
            f"got {describe(value)}"
        )
    return value


def check_early_stopping(value: Any) -> dict | None:
    """``{patience: n, min_delta: d}`` (min_delta 0 unless given), or null for none."""
    if value is None:
        return None
    return _sub_mapping(
        value,
        {"patience": (positive_int, REQUIRED), "min_delta": (non_negative_number, 0.0)},
        "{patience: 10, min_delta: 0.0001}",
    )


TRACKING_SCHEMES = ("sqlite", "file", "http", "https")
"""The MLflow tracking URIs ``tracking.mlflow`` takes: local stores, or a tracking server."""


def check_mlflow_uri(value: Any) -> str | bool:
    """``tracking.mlflow``: true (a sqlite store under the runs folder) or a tracking URI:
    ``sqlite:///PATH``, ``file:PATH``, ``http(s)://HOST:PORT``."""
    if isinstance(value, bool):
        return value
    uri = string(value)
    scheme = uri.partition(":")[0].lower() if ":" in uri else ""
    if scheme not in TRACKING_SCHEMES:
        raise Invalid(
            f"expected true or a tracking URI ({', '.join(s + ':' for s in TRACKING_SCHEMES)}), "
            f"got {quote(uri)}, e.g. sqlite:///runs/mlflow.db or http://127.0.0.1:5000"
        )
    if scheme == "sqlite" and not uri.startswith("sqlite:///"):
        raise Invalid(
            f"a sqlite URI has three slashes before its path: sqlite:///PATH, got {quote(uri)}"
        )
    return uri


def check_log_dir(value: Any) -> str | bool:
    """``tracking.tensorboard``: true (a folder under the runs folder) or a log folder."""
    return value if isinstance(value, bool) else string(value)


def check_histograms_every(value: Any) -> int | str | None:
    """``tracking.histograms_every``: epochs between weight and gradient histograms, ``auto``
    (about HISTOGRAMS_PER_RUN in a run) or null (none)."""
    if value is None or value == "auto":
        return value
    try:
        return positive_int(value)
    except Invalid as exc:
        raise Invalid(f"{exc}; or auto (about 20 in a run), or null (none)") from None


def check_tracking(value: Any) -> dict | None:
    """``{mlflow: URI or true, tensorboard: DIR or true, experiment: NAME, histograms_every:
    N or auto}``: the trackers a run is also written to when it ends (docs/guides/tracking.md); a
    tracker set false or null is off; null: none."""
    if value is None:
        return None
    out = _sub_mapping(
        value,
        {
            "mlflow": (optional(check_mlflow_uri), None),
            "tensorboard": (optional(check_log_dir), None),
            "experiment": (string, "nnctl"),
            "histograms_every": (check_histograms_every, "auto"),
        },
        "{mlflow: true, tensorboard: runs/tensorboard}",
    )
    for k in ("mlflow", "tensorboard"):
        if out[k] is False:
            out[k] = None
    return out


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
    """An image size ``[height, width]``, both positive."""
    if not isinstance(value, list) or len(value) != 2:
        raise Invalid(f"expected [height, width] like [64, 64], got {describe(value)}")
    return each(value, positive_int)


def check_bool(value: Any) -> bool:
    """true or false (YAML's yes/no/on/off read as such too)."""
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {describe(value)}")
    return value
