"""Binding a config to its data: the one place that loads a config's dataset, fills in
``layer_dims[0]``, checks the output layer against the targets and holds out the validation
set. ``train``, ``evaluate``, ``gradcheck`` and ``config show/check`` all call ``bind``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnctl.config import Config
from nnctl.core import LOSSES, fused
from nnctl.data import (
    Dataset,
    hold_out_indices,
    is_mapped,
    load_dataset,
    load_streamed,
    normalize,
    streaming_plan,
    take,
)
from nnctl.system import (
    STREAM_HOLD_OUT,
    ConfigError,
    DataError,
    did_you_mean,
    quote_list,
    require_memory,
    rng_for,
)
from nnctl.training.scoring import scored_width


@dataclass(frozen=True)
class Bound:
    """A config bound to its data.

    cfg: the config with ``layer_dims[0]`` filled in from the data.
    dataset: the data as training uses it: X_train: (n_x, m_train) the examples trained on,
        X_val: (n_x, m_val) the validation set (held out of the training file, or its own file).
    train_idx: (m_train,) the training file's column of each training example.
    val_idx: (m_val,) the training file's columns held out for validation; None when nothing
        was held out.
    """

    cfg: Config
    dataset: Dataset
    held_out: (
        tuple[np.ndarray, np.ndarray] | None
    )  # (train_idx, val_idx) when a validation set was held out

    @property
    def train_idx(self) -> np.ndarray:
        # made when asked: for a streamed file without a hold-out it would be the only thing
        # the size of the file's example count kept while training
        return (
            np.arange(self.dataset.X_train.shape[1]) if self.held_out is None else self.held_out[0]
        )

    @property
    def val_idx(self) -> np.ndarray | None:
        return None if self.held_out is None else self.held_out[1]


def bind(
    cfg: Config,
    on_progress: Callable[[int, int], None] | None = None,
    loaded: Dataset | None = None,
) -> Bound:
    """Loads the config's data, checks the config against it (``layer_dims[0]``, classes,
    task), holds out the validation set with the config's seed and normalizes with statistics
    of the training split (``cfg.normalize``; ``auto`` resolved in the returned cfg): the
    config and data exactly as training uses and saves them. ``on_progress(done, total)``:
    while image files are decoded. ``loaded``: the config's dataset as ``load_dataset``
    returned it, already in memory (a sweep's worker binds data it was sent, with no access to
    the files). HDF5 files larger than memory stay on disk and are streamed (``nnctl.data.stream``).
    Refuses a config whose training would not fit in memory before anything is allocated.
    Raises ConfigError or DataError."""
    fused.setting()  # NNCTL_COMPILED checked before anything is read or written
    plan = (
        streaming_plan(cfg.dataset, cfg.path, cfg.source, cfg.dtype, cfg.batch_size)
        if loaded is None
        else None
    )  # data files larger than memory stay on disk
    # What the config alone says (the data's size is not known yet: at least one example of
    # at least one feature) is checked before the data is read, the whole of it after.
    first, slots = cfg.layer_dims[0], optimizer_slots(cfg)
    require_memory(
        cfg,
        first if isinstance(first, int) else 1,
        int(cfg.dataset.get("m", 1)),
        0,
        slots,
        at_least=True,
    )
    if loaded is not None:
        ds = loaded
    elif plan is not None and plan.stream:
        ds = load_streamed(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path)
        ds.notes.extend(plan.notes)
    else:
        try:
            ds = load_dataset(cfg.dataset, cfg.dtype, LOSSES[cfg.loss].task, cfg.path, on_progress)
        except MemoryError:
            if "train" not in cfg.dataset:
                raise
            raise DataError(
                f"{cfg.dataset['train']}: out of memory loading the data whole; stream it from "
                "disk in mini-batches with dataset.stream: true and a batch_size"
            ) from None
    cfg = cfg.with_input_dim(ds.n_features)
    m_other = sum(int(X.shape[1]) for X in (ds.X_test, ds.X_val) if X is not None)
    streamed = plan is not None and plan.stream
    if streamed and cfg.shuffle is not None:
        raise ConfigError(
            f"{cfg.source}: shuffle: the course's order needs the data in memory; this file is "
            "streamed from disk in blocks (remove shuffle, or dataset.stream: false)"
        )
    splits = [X for X in (ds.X_train, ds.X_test, ds.X_val) if X is not None]
    require_memory(
        cfg,
        ds.n_features,
        int(ds.X_train.shape[1]),
        m_other,
        slots,
        data_in_memory=not streamed,
        mapped_examples=_mapped_examples(cfg, ds),
        label_rows=int(ds.Y_train.shape[0]),
        scored=max(scored_width(X) for X in splits),
    )
    if "synthetic" not in cfg.dataset:  # the kind chosen from the path, shown by config show
        named = (
            {"label": ds.label} if ds.label is not None else {}
        )  # so predict can leave that column out
        cfg = dataclasses.replace(cfg, dataset={**cfg.dataset, **named, "kind": ds.source_kind})
    check_targets(cfg, ds)
    held_out = None
    if cfg.validation_fraction > 0 and cfg.dataset.get("stratify"):
        _check_strata(cfg, ds)
    if cfg.validation_fraction > 0:
        held_out = hold_out_indices(
            ds.Y_train, ds.task, cfg.validation_fraction, rng_for(cfg.seed, STREAM_HOLD_OUT)
        )
        ds = take(ds, *held_out)
    ds = _weigh_classes(cfg, ds)
    check_weights(cfg, ds)
    _check_norm_batches(cfg, int(ds.X_train.shape[1]))
    cfg, ds = _normalize(cfg, ds)
    cfg = cfg.with_run_length(int(ds.X_train.shape[1]))  # a cosine schedule's horizon
    return Bound(cfg, ds, held_out)


def _check_strata(cfg: Config, ds: Dataset) -> None:
    """``dataset.stratify`` with a validation hold-out (which is always per class): every
    class of the training split needs 2 examples, one for each side. Raises ConfigError."""
    if ds.task != "classification":
        raise ConfigError(
            f"{cfg.source}: dataset.stratify: the targets are real values (regression), which "
            "have no classes to keep in proportion; remove stratify"
        )
    counts = np.bincount(np.asarray(ds.Y_train).reshape(-1).astype(np.int64))
    present = np.flatnonzero(counts)
    rare = present[counts[present] < 2]
    if rare.size:
        name = ds.classes[int(rare[0])] if int(rare[0]) < len(ds.classes) else str(rare[0])
        raise ConfigError(
            f"{cfg.source}: dataset.stratify: class {name!r} has 1 training example; a "
            "stratified validation split needs at least 2 of every class (remove stratify)"
        )


def _check_norm_batches(cfg: Config, m: int) -> None:
    """Batch normalization needs the mean and variance of at least 2 examples in every batch:
    refuses a training set of 1 example (full batch) and a last mini-batch of 1. ConfigError."""
    if cfg.batch_norm is None:
        return
    if m == 1:
        raise ConfigError(
            f"{cfg.source}: batch_norm: the training set has 1 example, but each batch needs at "
            "least 2 (its mean and variance); use more data or remove batch_norm"
        )
    bs = m if cfg.batch_size is None else min(cfg.batch_size, m)
    if m % bs == 1:
        ok = next(b for b in range(bs + 1, m + 1) if m % b != 1)
        raise ConfigError(
            f"{cfg.source}: batch_norm: batch_size {bs} leaves 1 of the {m} training examples "
            "in the last mini-batch of every epoch, but each batch needs at least 2 (its mean "
            f"and variance); use a batch_size such as {ok}"
        )


def _mapped_examples(cfg: Config, ds: Dataset) -> int:
    """Examples whose X stays mapped from its file through training (``data.is_mapped``): none
    when normalization makes new arrays; the training set's not when a validation set is held
    out of it (taking columns copies them)."""
    if normalize.resolve(cfg.normalize, ds.feature_rows) != "none":
        return 0
    kept = [ds.X_test, ds.X_val] + ([ds.X_train] if cfg.validation_fraction == 0 else [])
    return sum(int(X.shape[1]) for X in kept if X is not None and is_mapped(X))


def _normalize(cfg: Config, ds: Dataset) -> tuple[Config, Dataset]:
    """Statistics from X_train only (never the validation or test examples), applied to all."""
    method = normalize.resolve(cfg.normalize, ds.feature_rows)
    cfg = dataclasses.replace(cfg, normalize=method)
    if method == "none":
        # (a streamed X is never in memory whole: no statistics of it)
        if (
            ds.kind == "features"
            and ds.source_kind != "synthetic"
            and isinstance(ds.X_train, np.ndarray)
        ):
            warning = normalize.scale_warning(ds.X_train, cfg.source)
            if warning:
                ds = dataclasses.replace(ds, warnings=[*ds.warnings, warning])
        return cfg, dataclasses.replace(ds, normalize=method)
    steps = normalize.fit_steps(ds.X_train, method, ds.W_train)

    def norm(X: np.ndarray | None) -> np.ndarray | None:
        return None if X is None else normalize.apply_steps(X, steps)

    return cfg, dataclasses.replace(
        ds,
        X_train=norm(ds.X_train),
        X_val=norm(ds.X_val),
        X_test=norm(ds.X_test),
        normalize=method,
        steps=steps,
    )


def optimizer_slots(cfg: Config) -> int:
    """Arrays of state the config's optimizer keeps per parameter array (gd 0, momentum 1, adam
    2), counted from the optimizer itself on a one-unit network: a new optimizer needs no entry."""
    from nnctl.core import OPTIMIZERS, Params

    tiny = Params([np.zeros((1, 1))], [np.zeros((1, 1))])
    return len(OPTIMIZERS[cfg.optimizer](tiny, cfg).state()) // 2


def class_weights(cfg: Config, ds: Dataset) -> np.ndarray | None:
    """(K,) float64 weight of each of the dataset's classes from ``cfg.class_weight``, or None
    when it is not set. ``balanced``: scikit-learn's m / (K * count_k) over the training split
    (``ds.Y_train``, after the hold-out), weighted by its sample weights when it has them; a
    class absent from that split weighs 1 (it has nothing to weigh). A mapping names classes as
    ``ds.classes`` holds them; a class it leaves out weighs 1. Raises ConfigError for a
    regression dataset or a class name the data lacks."""
    if cfg.class_weight is None:
        return None
    if ds.task != "classification":
        raise ConfigError(
            f"{cfg.source}: class_weight: the dataset has real-valued targets (regression), "
            "which have no classes; remove class_weight"
        )
    K = len(ds.classes)
    if cfg.class_weight == "balanced":
        labels = np.asarray(ds.Y_train).reshape(-1).astype(np.int64)
        counts = np.bincount(
            labels, weights=None if ds.W_train is None else ds.W_train, minlength=K
        )[:K].astype(np.float64)
        out = np.ones(K)
        seen = counts > 0
        out[seen] = counts.sum() / (K * counts[seen])
        return out
    index = {c: i for i, c in enumerate(ds.classes)}
    out = np.ones(K)
    for name, weight in cfg.class_weight.items():
        if name not in index:
            raise ConfigError(
                f"{cfg.source}: class_weight: the data has no class {name!r}"
                f"{did_you_mean(name, list(ds.classes))}; its classes: {quote_list(ds.classes)}"
            )
        out[index[name]] = weight
    return out


def _weigh_classes(cfg: Config, ds: Dataset) -> Dataset:
    """``Dataset.W_train`` and ``W_val`` multiplied by the weight of each example's class
    (``class_weights``): the sample weights' path carries them into training and the
    validation loss. Unchanged when the config has no class_weight. Raises ConfigError."""
    weights = class_weights(cfg, ds)
    if weights is None:
        return ds
    if hasattr(ds.X_train, "batch_source"):
        raise ConfigError(
            f"{cfg.source}: class_weight: weighted examples need the training set in memory, "
            "but this file is streamed from disk (remove class_weight, or dataset.stream: false)"
        )

    def weigh(Y: np.ndarray | None, W: np.ndarray | None) -> np.ndarray | None:
        if Y is None:
            return W
        w = weights[np.asarray(Y).reshape(-1).astype(np.int64)]
        return w if W is None else w * W

    return dataclasses.replace(
        ds, W_train=weigh(ds.Y_train, ds.W_train), W_val=weigh(ds.Y_val, ds.W_val)
    )


def check_weights(cfg: Config, ds: Dataset) -> None:
    """Per-example weights (``Dataset.W_train``, ``W_val``) must leave the training set, and a
    validation set, something that weighs: a weighted mean over weights summing to 0 is
    undefined. Raises DataError."""
    for part, W in (("training", ds.W_train), ("validation", ds.W_val)):
        if W is not None and not np.sum(W) > 0:
            raise DataError(
                f"{cfg.source}: the sample weights of the {part} set are all zero; give some of "
                "its examples a positive weight"
                + (" (or another validation_fraction or seed)" if part == "validation" else "")
            )


def check_targets(cfg: Config, ds: Dataset) -> None:
    """The output layer and loss must fit the dataset's targets: the loss's task (class labels
    or real values) and its output-unit rule (``Loss.units``). Raises ConfigError."""
    loss = LOSSES[cfg.loss]
    if loss.task == "regression" and ds.task != "regression":
        raise ConfigError(
            f"{cfg.source}: loss {cfg.loss} ({loss.output} output) needs real-valued targets, "
            f"but the dataset has {len(ds.classes)} classes ({quote_list(ds.classes)}); "
            "use a softmax output for K classes or a sigmoid output for 2"
        )
    if loss.task != "regression" and ds.task == "regression":
        name = next(n for n, other in LOSSES.items() if other.task == "regression")
        raise ConfigError(
            f"{cfg.source}: the dataset has real-valued targets (regression) but the output "
            f"activation is {cfg.activations[-1]}; use a {LOSSES[name].output} output (loss {name})"
        )
    problem = loss.units(cfg.layer_dims[-1], ds)
    if problem is not None:
        raise ConfigError(f"{cfg.source}: {problem}")
