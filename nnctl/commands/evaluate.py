"""``evaluate``: a trained run scored on a labelled dataset (its own test, train or validation
split, or any HDF5 file ``train`` accepts), and its misclassified images written out for
inspection.

Classifiers (sigmoid or softmax head) get accuracy, precision / recall / F1 (overall and per
class), log loss and the confusion matrix; regression runs get MSE, MAE and R² (overall and per
output). Scores come from ``scoring.score``, the function ``train`` records the run's summary with, on
data bound the same way (``binding.bind``: the same load and seeded validation hold-out), so
they equal the run's summary to the last digit.
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.core import (
    LOSSES,
    check_threshold,
    head_for,
    precision_recall_f1,
    regression_scores,
    scores_from_confusion,
)
from nnctl.data import (
    Dataset,
    apply_steps,
    load_dataset,
    load_streamed,
    read_h5_header,
    read_rows,
    resolve_path,
    too_big,
)
from nnctl.runs import LoadedRun
from nnctl.system import ConfigError, DataError, RunError
from nnctl.system import threads as blas
from nnctl.training import Bound, bind, product_width, score


@dataclass
class Evaluation:
    """Scores of a run on one labelled dataset. confusion: (K, K), rows true, columns predicted."""

    data: str  # what was evaluated, e.g. "test split (data/test_catvnoncat.h5)"
    classes: list[str]
    n: int
    accuracy: float
    precision: float | None
    recall: float | None
    f1: float | None
    log_loss: float
    confusion: np.ndarray
    threshold: float | None  # None for a head without one (softmax)
    labels: np.ndarray = field(repr=False)  # (m,) predicted class indices
    Y: np.ndarray = field(repr=False)  # (m,) true class indices
    notes: list[str] = field(default_factory=list)  # warnings for the user (CLI prints them)
    raw_file: Path | None = None  # HDF5 file holding the raw examples (for --errors)
    raw_index: np.ndarray | None = field(default=None, repr=False)  # (m,) rows of raw_file
    task: str = "classification"
    raw_spec: dict[str, Any] | None = field(
        default=None, repr=False
    )  # dataset keys to read raw_file with

    @property
    def per_class(self) -> dict[str, list]:
        """Per-class precision, recall, F1 and support (lists in class order)."""
        return scores_from_confusion(self.confusion)

    @property
    def misclassified(self) -> np.ndarray:
        return np.flatnonzero(self.labels != self.Y)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "task": self.task,
            "n": self.n,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "log_loss": self.log_loss,
            "threshold": self.threshold,
            "classes": self.classes,
            "per_class": {
                c: {k: v[i] for k, v in self.per_class.items()} for i, c in enumerate(self.classes)
            },
            "confusion_matrix": self.confusion.tolist(),
            "misclassified": self.misclassified.tolist(),
        }


@dataclass
class RegressionEvaluation:
    """Scores of a regression run on one dataset: MSE, MAE and R² over all outputs (as
    ``train`` reports them) and, for several outputs, per output."""

    data: str
    n: int
    n_outputs: int
    mse: float
    mae: float
    r2: float
    per_output: list[dict[str, float]]  # one {'mse', 'mae', 'r2'} per output; empty for one output
    notes: list[str] = field(default_factory=list)
    task: str = "regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "task": self.task,
            "n": self.n,
            "n_outputs": self.n_outputs,
            "mse": self.mse,
            "mae": self.mae,
            "r2": self.r2,
            "per_output": self.per_output,
        }


def _changed_sources(run: LoadedRun, ds: Dataset) -> list[str]:
    """Notes for data files whose contents differ from those the run was trained on."""
    recorded = {s.get("role"): s.get("sha256") for s in run.summary.sources}
    return [
        f"{s['path']}: differs from the {s['role']} file the run was trained on (sha256 changed); "
        "scores may not match the run's summary"
        for s in ds.sources
        if s.get("sha256") and recorded.get(s["role"]) and recorded[s["role"]] != s["sha256"]
    ]


def _own_dataset(run: LoadedRun) -> tuple[dict[str, Any], list[str]]:
    """The run's dataset spec. A data file that its config names relative to where training ran
    and that cannot be found from here is replaced by the absolute path summary.json recorded,
    when that file still exists (with a note), so evaluate works from any directory."""
    spec = dict(run.config.dataset)
    recorded = {s.get("role"): s.get("path") for s in run.summary.sources}
    notes = []
    for role in ("train", "val", "test"):
        if not spec.get(role):
            continue
        try:
            # where training looked: the working directory, beside its config file, the data dir
            spec[role] = str(resolve_path(spec[role], run.summary.config_path))
        except DataError:
            path = recorded.get(role)
            if path and Path(path).is_file():
                notes.append(
                    f"{spec[role]} not found from here; using {path}, recorded when the run trained"
                )
                spec[role] = path
    return spec, notes


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
    # spec's paths are already resolved (see _own_dataset): no config file to look beside
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
                f"{data_file}: examples have shape {list(ds.input_shape)}, but the run was trained on "
                f"{list(pre.input_shape)}"
            )
        if ds.divide_by != pre.divide_by:
            raise DataError(
                f"{data_file}: values would be divided by {ds.divide_by:g}, but the run's training data "
                f"was divided by {pre.divide_by:g} (a different value type)"
            )
        Y = ds.Y_train
        if task != "regression" and ds.source_kind != "hdf5" and ds.classes != pre.classes:
            Y = _onto_run_classes(data_file, ds.classes, pre.classes, Y)
        elif ds.classes != pre.classes and ds.classes != ["0", "1"]:
            raise DataError(
                f"{data_file}: classes {ds.classes} differ from the run's {pre.classes}"
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
    spec, notes = _own_dataset(run)
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
            f"{run.run_dir}: the run has no validation set (no validation_fraction or dataset.val); "
            "use --split train or test"
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
    desc = f"{split} split ({source}{', held out of the training set' if held else ''})"
    return EvalData(X, Y, ds.classes, desc, raw, rows, notes + _changed_sources(run, ds), spec)


def evaluate_run(
    run: LoadedRun,
    data_file: str | None = None,
    split: str | None = None,
    threshold: float | None = None,
    threads: int | None = None,
) -> Evaluation | RegressionEvaluation:
    """Scores the run on its own test set (train set when it has none), on ``split``, or on
    ``data_file``, with ``threads`` BLAS threads (None: chosen as for training, by the size of
    the products and how busy the machine is; ``nnctl.system.threads``). Raises ConfigError for bad
    options, DataError for unusable data."""
    cfg = run.config
    head = head_for(cfg.loss)
    threshold = check_threshold(head, threshold, cfg.loss)
    d = load_eval_data(run, data_file, split)
    with blas.blas_threads(blas.choose(cfg.layer_dims, max(1, product_width(d.X)), threads).blas):
        scores = score(run.params, cfg, d.X, d.Y, threshold=threshold, n_classes=len(d.classes))
    if scores.regression is not None:
        AL = scores.AL
        n_out = AL.shape[0]
        per_output = (
            [regression_scores(AL[k : k + 1], d.Y[k : k + 1]) for k in range(n_out)]
            if n_out > 1
            else []
        )
        return RegressionEvaluation(
            data=d.description,
            n=int(d.Y.shape[1]),
            n_outputs=n_out,
            per_output=per_output,
            notes=d.notes,
            **scores.regression,
        )
    return Evaluation(
        data=d.description,
        classes=d.classes,
        n=int(d.Y.shape[1]),
        accuracy=scores.accuracy,
        log_loss=scores.loss,
        confusion=scores.confusion,
        threshold=threshold if head.threshold else None,
        labels=scores.labels.reshape(-1),
        Y=d.Y.reshape(-1),
        notes=d.notes,
        raw_file=d.raw_file,
        raw_index=d.raw_index,
        raw_spec=d.spec,
        **precision_recall_f1(scores.confusion),
    )


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
    unknown = [c for c in names if c not in classes]
    if unknown:
        raise DataError(
            f"{data_file}: class {unknown[0]!r} is not one of the run's classes ({', '.join(classes)})"
        )
    lookup = np.array([classes.index(c) for c in names], dtype=np.int64)
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


def raw_images(path: Path, spec: dict[str, Any], rows: np.ndarray) -> list[np.ndarray]:
    """The raw examples ``rows`` of a data file or image folder. From a course-style HDF5 file
    only those rows are read (the file may be larger than memory); other kinds are read whole."""
    if not path.is_dir():
        try:
            return read_rows(path, rows)
        except DataError:
            pass
    x = raw_examples(path, spec)
    return [x[int(r)] for r in rows]


def raw_examples(path: Path, spec: dict[str, Any]) -> np.ndarray:
    """The raw examples (m, ...) of a data file or image folder, read as ``spec`` says."""
    from nnctl.data import ReadOptions, read_source

    return read_source(path, ReadOptions({k: spec.get(k) for k in READER_KEYS})).x


def _safe(name: str) -> str:
    """A class name usable in a file name on every platform."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "class"


def check_errors_dir(run: LoadedRun, directory: Path) -> None:
    """Refuses ``--errors DIR`` before any work: a run on feature vectors, or DIR an existing
    non-directory."""
    if run.task == "regression":
        raise ConfigError(
            "--errors writes misclassified images, but this run is a regression (it has no classes)"
        )
    if run.preprocessing.kind != "image":
        raise ConfigError("--errors writes images, but this run was trained on feature vectors")
    if directory.exists() and not directory.is_dir():
        raise RunError(f"{directory}: exists and is not a directory (--errors needs a directory)")


def write_errors(ev: Evaluation, directory: Path) -> list[Path]:
    """Writes each misclassified example of an image dataset as
    ``<index>_true-<class>_pred-<class>.png`` (index into the evaluated data, zero-padded) into
    ``directory`` (created if needed). Returns the paths written."""
    from PIL import Image

    if ev.raw_file is None:
        raise ConfigError(
            "--errors writes images, but this run's data are feature vectors, not images"
        )
    wrong = ev.misclassified
    rows = ev.raw_index if ev.raw_index is not None else np.arange(ev.n)
    images = raw_images(ev.raw_file, ev.raw_spec or {}, rows[wrong])
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{directory}: cannot create: {exc.strerror or exc}") from None
    width = max(4, len(str(ev.n - 1)))
    written = []
    for i, img in zip(wrong, images):
        if img.dtype != np.uint8:
            raise DataError(
                f"{ev.raw_file}: images are {img.dtype}, --errors writes 8-bit images only"
            )
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        name = f"{i:0{width}d}_true-{_safe(ev.classes[ev.Y[i]])}_pred-{_safe(ev.classes[ev.labels[i]])}.png"
        runs.atomic_write(directory / name, buf.getvalue())
        written.append(directory / name)
    return written
