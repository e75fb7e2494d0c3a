"""The examples ``evaluate`` scores (``load_eval_data`` -> ``EvalData``): the run's own
split, bound exactly as ``train`` bound it, or another labelled file, read as the run's data
was and checked against what the run was trained on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.core import LOSSES
from nnctl.data import (
    Dataset,
    apply_steps,
    load_dataset,
    load_streamed,
    read_h5_header,
    resolve_path,
    too_big,
)
from nnctl.runs import LoadedRun
from nnctl.system import ConfigError, DataError, quote, quote_list
from nnctl.training import Bound, bind


def _changed_sources(run: LoadedRun, ds: Dataset) -> list[str]:
    """Notes for data files whose contents differ from those the run was trained on. A role may
    have two sources (a pair of ``.npy`` files, x then y): compared in the order recorded."""
    recorded: dict[str, list[str | None]] = {}
    for s in run.summary.sources:
        recorded.setdefault(s.get("role"), []).append(s.get("sha256"))
    seen: dict[str, int] = {}
    notes = []
    for s in ds.sources:
        i = seen[s["role"]] = seen.get(s["role"], -1) + 1
        was = recorded.get(s["role"], [])
        before = was[i] if i < len(was) else None
        if s.get("sha256") and before and before != s["sha256"]:
            notes.append(
                f"{s['path']}: differs from the {s['role']} file the run was trained on "
                "(sha256 changed); scores may not match the run's summary"
            )
    return notes


def own_dataset(run: LoadedRun) -> tuple[dict[str, Any], list[str]]:
    """The run's dataset spec. A data file that its config names relative to where training ran
    and that cannot be found from here is replaced by the absolute path summary.json recorded,
    when that file still exists (with a note), so evaluate works from any directory. A split
    given as a pair of ``.npy`` files (``{x: x.npy, y: y.npy}``) is resolved file by file."""
    spec = dict(run.config.dataset)
    recorded: dict[str, list[str]] = {}
    for s in run.summary.sources:
        recorded.setdefault(s.get("role"), []).append(s.get("path"))
    notes: list[str] = []
    for role in ("train", "val", "test"):
        if not spec.get(role):
            continue
        paths = recorded.get(role, [])
        if isinstance(spec[role], dict):
            # a pair is recorded as two sources of the same role, x then y (read_raw_split)
            pair = dict(spec[role])
            for i, part in enumerate(("x", "y")):
                if part in pair:
                    found = paths[i] if i < len(paths) else None
                    pair[part] = _resolved(pair[part], found, run, notes)
            spec[role] = pair
        else:
            spec[role] = _resolved(spec[role], paths[0] if paths else None, run, notes)
    return spec, notes


def _resolved(path: str, recorded: str | None, run: LoadedRun, notes: list[str]) -> str:
    """``path`` where training looked for it (the working directory, beside its config file,
    the data dir), else the absolute path recorded when the run trained, when it still exists
    (with a note in ``notes``), else ``path`` as given (its reader names it)."""
    try:
        return str(resolve_path(path, run.summary.config_path))
    except DataError:
        if recorded and Path(recorded).is_file():
            notes.append(
                f"{path} not found from here; using {recorded}, recorded when the run trained"
            )
            return recorded
    return path


@dataclass
class EvalData:
    """X: (n_x, m); Y: (1, m) labels or (n_out, m) targets; raw_file and raw_index (m,): where
    each example's raw image is (image runs, for --errors)."""

    X: np.ndarray
    Y: np.ndarray
    classes: list[str]
    description: str
    raw_file: Path | None
    raw_index: np.ndarray | None
    notes: list[str]
    spec: dict[str, Any] | None = None  # how raw_file is read (its dataset keys)


def _bind_own(run: LoadedRun, spec: dict[str, Any]) -> Bound:
    """The run's config bound to its dataset (at ``spec``'s paths) exactly as ``train`` bound
    it: with ``validation_fraction`` the same seeded hold-out, so 'train' means the examples the
    run trained on, and ``train_idx``/``val_idx`` say where each came from in the file."""
    # spec's paths are already resolved (see own_dataset): no config file to look beside
    return bind(dataclasses.replace(run.config, dataset=spec, path=None))


def load_eval_data(run: LoadedRun, data_file: str | None, split: str | None) -> EvalData:
    """The examples to score: ``data_file``, or the run's own ``split`` (default test, else
    train)."""
    cfg = run.config
    pre = run.preprocessing
    task = LOSSES[cfg.loss].task
    if data_file is not None:
        if split is not None:
            raise ConfigError(
                "--split picks a split of the run's own dataset; it cannot be combined with --data"
            )
        spec = eval_spec(run, data_file)
        # an HDF5 file that would not fit in memory is scored block by block (nnctl.data.stream)
        ds = (load_streamed if _too_big_to_load(data_file, cfg.dtype) else load_dataset)(
            spec, cfg.dtype, task
        )
        where = str(ds.sources[0]["path"]) if ds.sources else data_file
        if ds.input_shape != pre.input_shape:
            raise DataError(
                f"{data_file}: examples have shape {list(ds.input_shape)}, but the run was "
                f"trained on {list(pre.input_shape)}"
            )
        if ds.divide_by != pre.divide_by:
            raise DataError(
                f"{data_file}: values would be divided by {ds.divide_by:g}, but the run's "
                f"training data was divided by {pre.divide_by:g} (a different value type)"
            )
        Y = ds.Y_train
        if task != "regression" and ds.source_kind != "hdf5" and ds.classes != pre.classes:
            Y = _onto_run_classes(data_file, ds.classes, pre.classes, Y)
        elif ds.classes != pre.classes and ds.classes != ["0", "1"]:
            raise DataError(
                f"{data_file}: classes [{quote_list(ds.classes, quoted=True)}] differ from "
                f"the run's [{quote_list(pre.classes, quoted=True)}]"
            )
        if task == "regression" and ds.Y_train.shape[0] != cfg.layer_dims[-1]:
            raise DataError(
                f"{data_file}: examples have {ds.Y_train.shape[0]} target value(s), but the run "
                f"predicts {cfg.layer_dims[-1]}"
            )
        raw = resolve_path(data_file) if ds.kind == "image" else None
        rows = np.arange(ds.X_train.shape[1]) if raw else None
        X = apply_steps(ds.X_train, list(pre.steps))  # the run's stored normalization
        return EvalData(X, Y, pre.classes, f"{where}", raw, rows, [], spec)
    spec, notes = own_dataset(run)
    bound = _bind_own(run, spec)
    ds = bound.dataset
    if split is None:
        split = "test" if ds.X_test is not None else "train"
    if split == "test" and ds.X_test is None:
        raise DataError(
            f"{run.run_dir}: the run's dataset has no test set; use --split train or --data FILE"
        )
    if split == "val" and ds.X_val is None:
        raise DataError(
            f"{run.run_dir}: the run has no validation set "
            "(no validation_fraction or dataset.val); use --split train or test"
        )
    X, Y = ds.split(split)
    raw, rows = None, None
    if ds.kind == "image":
        whole = (
            None
            if ds.test_rows is None
            else np.setdiff1d(
                np.arange(
                    ds.test_rows.size
                    + bound.train_idx.size
                    + (0 if bound.val_idx is None else bound.val_idx.size)
                ),
                ds.test_rows,
            )
        )  # test_fraction: rows of the training source kept for training
        if split == "val" and not spec.get("val"):  # held out of the training file
            raw, rows = (
                resolve_path(spec["train"]),
                bound.val_idx if whole is None else whole[bound.val_idx],
            )
        elif split == "test" and ds.test_rows is not None:
            raw, rows = resolve_path(spec["train"]), ds.test_rows
        elif split == "train" and whole is not None:
            raw, rows = resolve_path(spec["train"]), whole[bound.train_idx]
        else:
            raw = resolve_path(spec[split])
            rows = bound.train_idx if split == "train" else np.arange(X.shape[1])
    held = split == "val" and not spec.get("val")
    source = run.config.dataset.get("train" if held else split) or spec.get("synthetic")
    if split == "test" and ds.test_rows is not None:
        source, held = run.config.dataset.get("train"), True
    if isinstance(source, dict):  # a pair of .npy files
        source = ", ".join(f"{k}: {v}" for k, v in source.items())
    desc = f"{split} split ({source}{', held out of the training set' if held else ''})"
    return EvalData(X, Y, ds.classes, desc, raw, rows, notes + _changed_sources(run, ds), spec)


READER_KEYS = ("label", "features", "delimiter", "x_key", "y_key", "size", "color", "skip_bad")


def eval_spec(run: LoadedRun, data_file: str) -> dict[str, Any]:
    """The dataset mapping that reads ``data_file`` as the run's data was read: its reading keys
    (label column, array names, ...) and, for an image run, its image size and colour mode."""
    spec: dict[str, Any] = {
        k: v for k, v in run.config.dataset.items() if k in READER_KEYS and v is not None
    }
    pre = run.preprocessing
    if pre.kind == "image" and len(pre.input_shape) >= 2:
        spec["size"] = list(pre.input_shape[:2])
        spec["color"] = "grayscale" if pre.color_mode == "L" else "rgb"
    spec["train"] = data_file
    return spec


def _onto_run_classes(
    data_file: str, names: list[str], classes: list[str], Y: np.ndarray
) -> np.ndarray:
    """Labels Y: (1, m) indexing ``names`` (a labelled file's own classes) -> indices into the
    run's ``classes``. Raises DataError naming a class the run does not know."""
    index = {c: i for i, c in enumerate(classes)}  # not list.index: many classes, bounded time
    unknown = [c for c in names if c not in index]
    if unknown:
        raise DataError(
            f"{data_file}: class {quote(unknown[0])} is not one of the run's classes "
            f"({quote_list(classes)})"
        )
    lookup = np.array([index[c] for c in names], dtype=np.int64)
    return lookup[Y]


def _too_big_to_load(data_file: str, dtype: str) -> bool:
    """A course-style HDF5 file whose examples in ``dtype`` would not fit in memory."""
    path = resolve_path(data_file)
    if path.is_dir() or path.suffix.lower() not in (".h5", ".hdf5"):
        return False
    try:
        header = read_h5_header(path)
    except DataError:  # other array names: the kinds table reads it (whole)
        return False
    return too_big([header], dtype)[0]
