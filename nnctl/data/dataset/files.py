"""A dataset read from files: each split's source read by its kind (``read_raw_split``, with
its provenance), a test split drawn from the training file (``split_off_test``), the splits
checked against the training split's classes and shapes and laid out as X: (n_x, m)
(``prepare_x``) in ``load_files``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.dataset.container import Dataset
from nnctl.data.dataset.paths import resolve_path, sha256_cached
from nnctl.data.dataset.values import per_example, validate_labels, validate_targets
from nnctl.data.readers.base import RawSplit
from nnctl.system import DataError, quote, quote_list


def read_h5(path: Path, x_key: str | None = None, y_key: str | None = None) -> RawSplit:
    """Reads the one ``*_x`` and one ``*_y`` array (any prefix; or ``x``/``y``, ``X``/``Y``; or
    the arrays named ``x_key``/``y_key``) and optional ``list_classes``
    (``nnctl.data.readers.hdf5``)."""
    from nnctl.data.readers import ReadOptions
    from nnctl.data.readers.hdf5 import read_hdf5

    return read_hdf5(path, ReadOptions({"x_key": x_key, "y_key": y_key}))


def prepare_x(x: np.ndarray, divide_by: float, dtype: np.dtype | type) -> np.ndarray:
    """Raw examples x: (m, ...) -> X: (n_x, m) exactly as the course does:
    ``x.reshape(m, -1).T / 255.`` for uint8 images. Shared with ``predict`` so a training
    image and the same image read from a file give the same column."""
    flat = x.reshape(x.shape[0], -1).T
    if divide_by != 1:
        # Divide (the course's `/255.`) rather than multiply by 1/255: the two differ in the
        # last bit, and the course's published curve was made by dividing.
        return flat.astype(dtype) / dtype(divide_by)
    # Column-major like the course's X: each example's features stay contiguous, which makes
    # mini-batch gathers cheap (see ``batches``) and a file already in the dtype needs no copy.
    return flat.astype(dtype, copy=False)


def read_raw_split(
    value: Any,
    options: Any,
    config_file: str | None,
    read: Callable[[Path], RawSplit] | None = None,
) -> tuple[RawSplit, list[dict[str, Any]]]:
    """One split's source (a path, or ``{x: x.npy, y: y.npy}``) -> its RawSplit and provenance.
    ``read``: a reader of one HDF5 file to use instead of the kinds table (``nnctl.data.stream``'s,
    which leaves the examples in the file)."""
    from nnctl.data.readers import read_source

    if isinstance(value, dict):
        from nnctl.data.readers.numpyfile import read_pair  # imported when used (start-up)

        x_path, y_path = (
            resolve_path(value["x"], config_file),
            resolve_path(value["y"], config_file),
        )
        raw = read_pair(x_path, y_path, options)
        raw.kind = "npy"
        return raw, [_file_source(p, "npy") for p in (x_path, y_path)]
    path = resolve_path(value, config_file)
    raw = read(path) if read is not None else read_source(path, options)
    if path.is_dir():
        from nnctl.data.readers.folder import folder_digest

        return raw, [
            {
                "path": str(path.resolve()),
                "sha256": folder_digest(raw.files or [], path),
                "kind": raw.kind,
            }
        ]
    return raw, [_file_source(path, raw.kind)]


def _file_source(path: Path, kind: str) -> dict[str, Any]:
    """Where a data file is and what it holds: its SHA-256, cached by size and mtime."""
    digest, cached = sha256_cached(path)
    return {"path": str(path.resolve()), "sha256": digest, "sha256_cached": cached, "kind": kind}


def _name_classes(raw: RawSplit, classes: list[str], train_path: Path) -> None:
    """A test file's own class names (CSV strings, class folders) mapped onto the training
    file's, in place. Raises DataError naming a class the training data lacks."""
    if raw.classes == classes or raw.y is None:
        return
    index = {c: i for i, c in enumerate(classes)}  # not list.index: many classes, bounded time
    missing = [c for c in raw.classes or [] if c not in index]
    if missing:
        what = "class folder" if raw.kind == "images" else "class"
        raise DataError(
            f"{raw.path}: {what} {quote(missing[0])} is not in the training data {train_path} "
            f"(classes: {quote_list(classes)})"
        )
    lookup = np.array([index[c] for c in raw.classes or []], dtype=np.int64)
    raw.y = lookup[np.asarray(raw.y, dtype=np.int64)]
    raw.classes = list(classes)


def _number_classes(raw: RawSplit) -> None:
    """Numeric labels of a file without class names (CSV, NumPy): classes '0' .. 'K-1' for the
    largest whole label K-1 (at least two), so softmax data needs no list_classes."""
    y = np.asarray(raw.y)
    if raw.classes or y.size == 0 or y.dtype.kind not in "uif" or not np.all(np.isfinite(y)):
        return
    if np.all(y == np.round(y)) and y.min() >= 0:
        raw.classes = [str(i) for i in range(max(2, int(y.max()) + 1))]


def split_off_test(m: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) sorted example indices: round(fraction * m) drawn with ``seed``."""
    n_test = int(round(m * fraction))
    if n_test >= m:
        raise DataError(
            f"dataset: test_fraction {fraction} of {m} examples leaves no training examples"
        )
    perm = np.random.RandomState(seed).permutation(m)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.RandomState, role: str = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, split off) sorted example indices of labels: (m,) class labels (numbers or
    names): round(fraction * m_c) of each class c's m_c examples, drawn with ``rng`` class by
    class in sorted class order, so each class keeps its share in both parts (``stratify``).
    Raises DataError for a class of fewer than 2 examples or a part left empty."""
    labels = np.asarray(labels).reshape(-1)
    classes, counts = np.unique(labels, return_counts=True)
    if np.any(counts < 2):
        c = classes[int(np.argmin(counts))]
        raise DataError(
            f"dataset: stratify: class {quote(str(c))} has {int(counts.min())} example; a "
            f"stratified {role} split needs at least 2 of every class (remove stratify)"
        )
    picked = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        picked.append(rng.permutation(idx)[: int(round(fraction * idx.size))])
    out = np.sort(np.concatenate(picked))
    if out.size == 0 or out.size == labels.size:
        raise DataError(
            f"dataset: stratify: {role}_fraction {fraction} of {labels.size} examples leaves "
            f"{'no ' + role if out.size == 0 else 'no training'} examples"
        )
    return np.setdiff1d(np.arange(labels.size), out, assume_unique=True), out


def raw_subset(raw: RawSplit, rows: np.ndarray) -> RawSplit:
    return dataclasses.replace(
        raw,
        x=raw.x[rows],
        y=None if raw.y is None else np.asarray(raw.y)[rows],
        files=None if raw.files is None else [raw.files[i] for i in rows],
    )


def load_files(
    spec: dict[str, Any],
    dtype: type,
    task: str = "classification",
    config_file: str | None = None,
    on_progress: Any = None,
    *,
    read: Callable[[Path], RawSplit] | None = None,
    as_x: Callable[[RawSplit, float, type], Any] | None = None,
) -> Dataset:
    """The dataset of ``spec``'s files. ``read`` reads one HDF5 file instead of the kinds
    table, ``as_x(raw, divide_by, dtype)`` makes its X (default: ``prepare_x`` of the values
    read); ``nnctl.data.stream`` passes a reader that leaves the examples in the file."""
    from nnctl.data.readers import KINDS, ReadOptions

    if as_x is None:

        def as_x(raw: RawSplit, divide_by: float, float_type: type) -> np.ndarray:
            return prepare_x(raw.x, divide_by, float_type)

    if read is not None and spec.get("test_fraction"):
        raise DataError(
            "dataset: test_fraction cannot split a streamed file; give a test file (dataset.test)"
        )
    options = ReadOptions(spec, task, on_progress=on_progress, map_x=True)
    sources = []
    raws: dict[str, RawSplit] = {}
    for role in ("train", "val", "test"):
        if not spec.get(role):
            continue
        raw, provenance = read_raw_split(spec[role], options, config_file, read)
        raws[role] = raw
        sources += [{"role": role, **p} for p in provenance]
    train_raw = raws["train"]
    test_rows = None
    if spec.get("test_fraction") and "test" not in raws:
        per_example(train_raw, task)  # validated before its rows are split (x and y agree)
        if spec.get("stratify"):
            if task == "regression" or train_raw.y is None:
                raise DataError(
                    "dataset: stratify: the targets are real values (regression), which have "
                    "no classes to keep in proportion; remove stratify"
                )
            train_rows, test_rows = stratified_split(
                train_raw.y, spec["test_fraction"], np.random.RandomState(spec.get("seed") or 1)
            )
        else:
            train_rows, test_rows = split_off_test(
                train_raw.x.shape[0], spec["test_fraction"], spec.get("seed") or 1
            )
        raws["test"], raws["train"] = (
            raw_subset(train_raw, test_rows),
            raw_subset(train_raw, train_rows),
        )
        train_raw = raws["train"]
        sources[0]["test_fraction"], sources[0]["seed"] = (
            spec["test_fraction"],
            spec.get("seed") or 1,
        )
    if task != "regression" and train_raw.kind != "hdf5":
        _number_classes(train_raw)
    splits = {}
    for role, raw in raws.items():
        if raw.named or (role != "train" and train_raw.named):
            if not raw.named:
                raise DataError(
                    f"{raw.path}: labels are numbers but the training data's are class names "
                    f"({quote_list(train_raw.classes or [])})"
                )
            _name_classes(raw, train_raw.classes or [], train_raw.path)
        elif role != "train" and train_raw.kind != "hdf5" and train_raw.classes:
            raw.classes = train_raw.classes
        y = validate_targets(raw) if task == "regression" else validate_labels(raw)
        splits[role] = (raw, y)
    train_raw, y_train = splits["train"]
    x0 = train_raw.x
    is_image = x0.ndim in (3, 4)
    divide_by = 255.0 if x0.dtype == np.uint8 else 1.0
    classes = train_raw.classes or ["0", "1"]
    if task == "regression":
        classes = []

    def as_Y(y: np.ndarray) -> np.ndarray:
        return y.astype(dtype) if task == "regression" else y.reshape(1, -1)

    prepared: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}
    for role in ("val", "test"):
        prepared[role] = (None, None)
        if role not in splits:
            continue
        test_raw, y_test = splits[role]
        if test_raw.x.shape[1:] != x0.shape[1:]:
            what = "examples have shape"
            if test_raw.x.ndim == 2 and x0.ndim == 2:
                raise DataError(
                    f"{test_raw.path}: {test_raw.x.shape[1]} features per example but the "
                    f"training data has {x0.shape[1]}"
                )
            raise DataError(
                f"{test_raw.path}: {test_raw.x_key} {what} {test_raw.x.shape[1:]} "
                f"but the training examples have {x0.shape[1:]}"
            )
        if test_raw.classes and train_raw.classes and test_raw.classes != train_raw.classes:
            raise DataError(
                f"{test_raw.path}: list_classes [{quote_list(test_raw.classes, quoted=True)}] "
                f"differs from the training file's [{quote_list(classes, quoted=True)}]"
            )
        if task == "regression" and y_test.shape[0] != y_train.shape[0]:
            raise DataError(
                f"{test_raw.path}: {test_raw.y_key} has {y_test.shape[0]} target value(s) "
                f"per example but the training file has {y_train.shape[0]}"
            )
        prepared[role] = (as_x(test_raw, divide_by, dtype), as_Y(y_test))
    X_test, Y_test = prepared["test"]
    return Dataset(
        X_train=as_x(train_raw, divide_by, dtype),
        Y_train=as_Y(y_train),
        X_test=X_test,
        Y_test=Y_test,
        classes=classes,
        input_shape=tuple(int(s) for s in x0.shape[1:]),
        divide_by=divide_by,
        kind="image" if is_image else "features",
        sources=sources,
        X_val=prepared["val"][0],
        Y_val=prepared["val"][1],
        task=task,
        source_kind=train_raw.kind,
        feature_rows=KINDS[train_raw.kind].features and not is_image,
        warnings=options.warnings,
        test_rows=test_rows,
        label=train_raw.y_key if train_raw.kind == "csv" and spec.get("label") is None else None,
    )
