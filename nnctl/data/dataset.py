"""Datasets: the course's HDF5 files and synthetic generators, validated and laid out as X: (n_x, m).

``load_dataset(spec, dtype)`` takes the resolved ``dataset`` mapping of a config and returns a
``Dataset``. Everything ``predict`` needs to prepare new inputs the same way (input shape,
pixel scaling, class names) travels with it into the run's ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.readers.base import RawSplit
from nnctl.system import DataError

DATA_DIR_ENV = "NNCTL_DATA_DIR"


@dataclass
class Dataset:
    """X_*: (n_x, m) in the run's dtype; Y_*: (1, m) integer class labels (0 .. K-1) when
    ``task`` is "classification", (n_out, m) real targets in the run's dtype for "regression".
    X_val/Y_val: a validation set (from ``dataset.val`` or held out of the training set)."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    classes: list[str]
    input_shape: tuple[int, ...]  # one example before flattening, e.g. (64, 64, 3)
    divide_by: float  # raw values are divided by this (255 for uint8 images, else 1)
    kind: str  # "image" or "features"
    sources: list[dict[str, Any]] = field(default_factory=list)
    task: str = "classification"
    X_val: np.ndarray | None = None
    Y_val: np.ndarray | None = None
    source_kind: str = "synthetic"  # the readers.KINDS entry that read the training data
    feature_rows: bool = False  # CSV / NumPy feature rows: ``normalize: auto`` standardizes them
    warnings: list[str] = field(default_factory=list)  # for the user (skipped files, scales)
    test_rows: np.ndarray | None = None  # (m_test,) rows of the training source (test_fraction)
    normalize: str = "none"  # standard | minmax | none, as applied (``nnctl.data.normalize``)
    steps: list[dict[str, Any]] = field(
        default_factory=list
    )  # its statistics, from the training split
    label: str | None = None  # a CSV's label column when the config named none (the last column)
    notes: list[str] = field(default_factory=list)  # notices for the user (e.g. streamed from disk)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[0])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) of 'train', 'val' or 'test'."""
        if name == "val":
            if self.X_val is None:
                raise DataError("this dataset has no validation set")
            return self.X_val, self.Y_val  # type: ignore[return-value]
        if name == "test":
            if self.X_test is None:
                raise DataError("this dataset has no test set")
            return self.X_test, self.Y_test  # type: ignore[return-value]
        return self.X_train, self.Y_train

    def preprocessing(self) -> dict[str, Any]:
        """What predict needs to turn a new input into a column of X; with a normalization,
        its name and steps (statistics of the training split, see ``nnctl.data.normalize``)."""
        pre = {
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "divide_by": self.divide_by,
            "color_mode": _color_mode(self.input_shape) if self.kind == "image" else None,
            "classes": self.classes,
            "task": self.task,
        }
        if self.normalize != "none":
            pre.update(normalize=self.normalize, steps=self.steps)
        return pre


def _color_mode(shape: tuple[int, ...]) -> str:
    if len(shape) == 2 or shape[-1] == 1:
        return "L"
    return {3: "RGB", 4: "RGBA"}.get(shape[-1], "RGB")


# --------------------------------------------------------------------------- paths


def resolve_path(path: str, config_file: str | None = None) -> Path:
    """A dataset path: as given (relative to the working directory), then relative to the
    folder of the config file that names it, then under $NNCTL_DATA_DIR (the path itself, then
    its file name). Raises DataError naming every absolute path searched."""
    p = Path(path).expanduser()
    candidates = [p]
    env = os.environ.get(DATA_DIR_ENV)
    if not p.is_absolute():
        if config_file:
            candidates.append(Path(config_file).parent / p)
        if env:
            candidates += [Path(env) / p, Path(env) / p.name]
    for c in candidates:
        if c.is_file() or c.is_dir():  # a folder: an image dataset
            return c
    searched = ", ".join(dict.fromkeys(os.path.normpath(c.absolute()) for c in candidates))
    named = f", named in {config_file}" if config_file else ""
    hint = "" if env else f"; set {DATA_DIR_ENV} to the folder that holds it, or copy it into data/"
    raise DataError(f"{path}: data file not found (searched {searched}{named}){hint}")


def sha256_of(path: Path) -> str:
    """The file's SHA-256, cached per file version (``nnctl.system.filehash``)."""
    return sha256_cached(path)[0]


def sha256_cached(path: Path) -> tuple[str, bool]:
    """(the file's SHA-256, whether it came from the cache): hashing many GB on every run
    costs minutes, so ``nnctl.system.filehash`` remembers it per version of the file."""
    from nnctl.system import sha256_cached as cached

    return cached(path)


# --------------------------------------------------------------------------- HDF5


def read_h5(path: Path, x_key: str | None = None, y_key: str | None = None) -> RawSplit:
    """Reads the one ``*_x`` and one ``*_y`` array (any prefix; or ``x``/``y``, ``X``/``Y``; or
    the arrays named ``x_key``/``y_key``) and optional ``list_classes`` (``nnctl.data.readers.hdf5``)."""
    from nnctl.data.readers import ReadOptions
    from nnctl.data.readers.hdf5 import read_hdf5

    return read_hdf5(path, ReadOptions({"x_key": x_key, "y_key": y_key}))


def is_mapped(x: Any) -> bool:
    """True when the array x (or the array it is a view of) is mapped read-only from a data file
    (``readers.hdf5.map_contiguous``) rather than held in the process's memory: its values
    live in the page cache, which the memory estimate does not count (``resources``)."""
    import mmap

    base = x
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def all_finite(x: np.ndarray) -> bool:
    """True when no value of the float array x is NaN or infinite.

    A sum is NaN or infinite when any term is (NaN propagates; inf + -inf is NaN), so a finite
    sum proves every value finite in one reduction pass with no temporary array, where
    ``np.isfinite(x).all()`` writes a boolean array as large as x (47 MB for W2) and reads it
    again. Only when the sum is not finite (a bad value, or finite values whose sum overflows)
    are the values looked at one by one, a block at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x)):
            return True
    flat = x.reshape(-1)  # a view for the arrays read from files (C order)
    step = 1 << 16
    return all(np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step))


def _check_x(raw: RawSplit) -> None:
    x, where = raw.x, raw.path
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise DataError(
            f"{where}: {raw.x_key}: expected a numeric array (m, ...), got {x.dtype} {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{where}: {raw.x_key}: no examples (m = 0)")
    if 0 in x.shape[1:]:
        raise DataError(f"{where}: {raw.x_key}: examples have no features (shape {x.shape})")
    # a streamed file's x (nnctl.data.stream) is checked block by block as it is read
    if x.dtype.kind == "f" and isinstance(x, np.ndarray) and not all_finite(x):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise DataError(
            f"{where}: {raw.x_key}: {bad} NaN or infinite value(s); clean the data first"
        )


def _validate_targets(raw: RawSplit) -> np.ndarray:
    """Checks one file's arrays for regression; returns the targets as float64 (n_out, m).
    The ``*_y`` array holds one row per example: (m,) for one output, (m, n_out) for several."""
    _check_x(raw)
    y, where, m = np.asarray(raw.y), raw.path, raw.x.shape[0]
    if y.dtype.kind not in "uif" or y.ndim not in (1, 2) or y.shape[0] != m:
        raise DataError(
            f"{where}: {raw.y_key}: expected real-valued targets of shape ({m},) or ({m}, n_outputs) "
            f"for the {m} examples of {raw.x_key}, got {y.dtype} {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise DataError(f"{where}: {raw.y_key}: NaN or infinite targets; clean the data first")
    return y.reshape(m, -1).T.astype(np.float64)


def _validate_split(raw: RawSplit) -> np.ndarray:
    """Checks one file's arrays; returns the labels as int64 (m,)."""
    x, y, where = raw.x, raw.y, raw.path
    _check_x(raw)
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise DataError(f"{where}: {raw.y_key}: expected labels of shape (m,), got {y.shape}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataError(f"{where}: {raw.y_key}: NaN or infinite labels")
    if y.dtype.kind not in "uifb" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise DataError(
            f"{where}: {raw.y_key}: labels must be whole class numbers, got {y.dtype} "
            "(for real-valued targets use a linear output, loss mean_squared_error)"
        )
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"{where}: {raw.x_key} has {x.shape[0]} examples but {raw.y_key} has {y.shape[0]} labels"
        )
    n_classes = len(raw.classes) if raw.classes else 2
    # labels read compactly (a streamed file's uint8) stay so; others become int64. The range
    # check looks at the extremes first, so a valid file's labels are not copied again.
    yi = y if y.dtype.kind == "u" and y.dtype.itemsize == 1 else y.astype(np.int64)
    if yi.size and (yi.min() < 0 or yi.max() >= n_classes):
        outside = yi[(yi < 0) | (yi >= n_classes)]
        raise DataError(
            f"{where}: {raw.y_key}: label {outside[0]} is outside the classes 0..{n_classes - 1}"
            + (f" ({', '.join(raw.classes)})" if raw.classes else "")
        )
    return yi


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


def _read_role(
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
    missing = [c for c in raw.classes or [] if c not in classes]
    if missing:
        what = "class folder" if raw.kind == "images" else "class"
        raise DataError(
            f"{raw.path}: {what} {missing[0]!r} is not in the training data {train_path} "
            f"(classes: {', '.join(classes)})"
        )
    lookup = np.array([classes.index(c) for c in raw.classes or []], dtype=np.int64)
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


def _subset(raw: RawSplit, rows: np.ndarray) -> RawSplit:
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
        raw, provenance = _read_role(spec[role], options, config_file, read)
        raws[role] = raw
        sources += [{"role": role, **p} for p in provenance]
    train_raw = raws["train"]
    test_rows = None
    if spec.get("test_fraction") and "test" not in raws:
        train_rows, test_rows = split_off_test(
            train_raw.x.shape[0], spec["test_fraction"], spec.get("seed") or 1
        )
        raws["test"], raws["train"] = _subset(train_raw, test_rows), _subset(train_raw, train_rows)
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
                    f"({', '.join(train_raw.classes or [])})"
                )
            _name_classes(raw, train_raw.classes or [], train_raw.path)
        elif role != "train" and train_raw.kind != "hdf5" and train_raw.classes:
            raw.classes = train_raw.classes
        y = _validate_targets(raw) if task == "regression" else _validate_split(raw)
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
                f"{test_raw.path}: list_classes {test_raw.classes} differs from the training file's {classes}"
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


# --------------------------------------------------------------------------- synthetic


def planar(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """The course's two-class flower: X (2, m), y (m,). With RandomState(1), m=400 and noise
    0.2 these are the course's ``load_planar_dataset()`` points exactly."""
    a = 4
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=np.int64)
    sizes = [m - m // 2, m // 2]
    start = 0
    for j, N in enumerate(sizes):
        ix = slice(start, start + N)
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * noise
        r = a * np.sin(4 * t) + rng.randn(N) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
        start += N
    return X.T, y


def moons(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons), gaussian noise added."""
    n_out = m - m // 2
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, m // 2)
    X = np.vstack(
        [
            np.c_[np.cos(t_out), np.sin(t_out)],
            np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5],
        ]
    )
    X += rng.randn(m, 2) * noise
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(m // 2, dtype=np.int64)]
    return X.T, y


def circles(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (class 0) around one of radius 0.5 (class 1), gaussian noise added."""
    n_out = m - m // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, m // 2, endpoint=False)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], 0.5 * np.c_[np.cos(t_in), np.sin(t_in)]])
    X += rng.randn(m, 2) * noise
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(m // 2, dtype=np.int64)]
    return X.T, y


def spiral(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms, one class each (CS231n's spiral): X (2, m), y (m,).

    Arm j's points run out from the centre at radius r in [0, 1] and angle 4(r + j) plus
    gaussian noise; no straight line separates the arms.
    """
    K = 3
    sizes = [m // K + (1 if j < m % K else 0) for j in range(K)]
    X, y = [], []
    for j, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, n) + rng.randn(n) * noise
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n, j, dtype=np.int64))
    return np.vstack(X).T, np.concatenate(y)


def sine(m: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Regression: x uniform in [-pi, pi], target sin(x) + gaussian noise. X (1, m), y (1, m)."""
    x = rng.uniform(-np.pi, np.pi, m)
    return x.reshape(1, -1), (np.sin(x) + rng.randn(m) * noise).reshape(1, -1)


@dataclass(frozen=True)
class Synthetic:
    generate: Callable[[int, float, np.random.RandomState], tuple[np.ndarray, np.ndarray]]
    noise: float  # default noise scale
    classes: tuple[str, ...]  # empty for a regression generator
    task: str = "classification"  # or "regression": generate returns real targets (n_out, m)


SYNTHETIC: dict[str, Synthetic] = {
    "planar": Synthetic(planar, 0.2, ("red", "blue")),
    "moons": Synthetic(moons, 0.2, ("upper", "lower")),
    "circles": Synthetic(circles, 0.1, ("outer", "inner")),
    "spiral": Synthetic(spiral, 0.2, ("arm0", "arm1", "arm2")),
    "sine": Synthetic(sine, 0.1, (), task="regression"),
}


def _load_synthetic(spec: dict[str, Any], dtype: type) -> Dataset:
    gen = SYNTHETIC[spec["synthetic"]]
    rng = np.random.RandomState(spec["seed"])
    noise = gen.noise if spec.get("noise") is None else spec["noise"]  # None: a hand-built spec
    X, y = gen.generate(spec["m"], noise, rng)
    m = X.shape[1]
    n_test = int(round(m * spec["test_fraction"]))
    if n_test and m - n_test < 1:
        raise DataError(
            f"dataset: test_fraction {spec['test_fraction']} leaves no training examples"
        )
    X = X.astype(dtype)
    Y = y.astype(dtype) if gen.task == "regression" else y.reshape(1, -1)
    if n_test:
        # drawn after the points, so the points themselves don't depend on test_fraction
        perm = rng.permutation(m)
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        X_tr, Y_tr, X_te, Y_te = X[:, train], Y[:, train], X[:, test], Y[:, test]
    else:
        X_tr, Y_tr, X_te, Y_te = X, Y, None, None
    return Dataset(
        X_train=np.ascontiguousarray(X_tr),
        Y_train=Y_tr,
        X_test=None if X_te is None else np.ascontiguousarray(X_te),
        Y_test=Y_te,
        classes=list(gen.classes),
        input_shape=(X.shape[0],),
        divide_by=1.0,
        kind="features",
        sources=[
            {
                "role": "train+test",
                "synthetic": spec["synthetic"],
                "m": m,
                "seed": spec["seed"],
                "noise": noise,
                "test_fraction": spec["test_fraction"],
            }
        ],
        task=gen.task,
    )


def load_dataset(
    spec: dict[str, Any],
    dtype: str = "float64",
    task: str = "classification",
    config_file: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Dataset:
    """The resolved ``dataset`` mapping of a config -> Dataset. Raises DataError.

    ``config_file``: the config that names the files; relative paths are also looked up beside it.

    ``task`` says how to read a file's ``*_y`` array: class labels ("classification") or
    real-valued targets ("regression", for a linear output). A synthetic generator has its own.
    ``on_progress(done, total)`` is called while an image folder is decoded.
    """
    np_dtype = np.dtype(dtype).type
    if "synthetic" in spec:
        return _load_synthetic(spec, np_dtype)
    return load_files(spec, np_dtype, task, config_file, on_progress)
