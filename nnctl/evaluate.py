"""``evaluate``: a trained run scored on a labelled dataset (its own test or train split, or any
HDF5 file ``train`` accepts), and its misclassified images written out for inspection.

Accuracy is computed with the same functions as ``train`` (``predict_proba`` ->
``predict_labels`` -> ``accuracy``) on data loaded by the same ``load_dataset``, so it equals
the accuracy in the run's summary to the last digit.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.data import Dataset, load_dataset, read_h5, resolve_path
from nnctl.errors import ConfigError, DataError, RunError
from nnctl.heads import check_threshold, head_for
from nnctl.metrics import accuracy, confusion_matrix, log_loss, precision_recall_f1
from nnctl.model import Architecture, forward, predict_proba
from nnctl.predict import run_preprocessing
from nnctl.runs import LoadedRun


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
    threshold: float
    labels: np.ndarray = field(repr=False)  # (m,) predicted class indices
    Y: np.ndarray = field(repr=False)  # (m,) true class indices
    notes: list[str] = field(default_factory=list)  # warnings for the user (CLI prints them)
    raw_file: Path | None = None  # HDF5 file holding the raw examples (for --errors)

    @property
    def misclassified(self) -> np.ndarray:
        return np.flatnonzero(self.labels != self.Y)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "n": self.n,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "log_loss": self.log_loss,
            "threshold": self.threshold,
            "classes": self.classes,
            "confusion_matrix": self.confusion.tolist(),
            "misclassified": self.misclassified.tolist(),
        }


def _changed_sources(run: LoadedRun, ds: Dataset) -> list[str]:
    """Notes for data files whose contents differ from those the run was trained on."""
    recorded = {s.get("role"): s.get("sha256") for s in run.summary.get("dataset", {}).get("sources", [])}
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
    recorded = {s.get("role"): s.get("path") for s in run.summary.get("dataset", {}).get("sources", [])}
    notes = []
    for role in ("train", "test"):
        if not spec.get(role):
            continue
        try:
            resolve_path(spec[role])
        except DataError:
            path = recorded.get(role)
            if path and Path(path).is_file():
                notes.append(f"{spec[role]} not found from here; using {path}, recorded when the run trained")
                spec[role] = path
    return spec, notes


def load_eval_data(
    run: LoadedRun, data_file: str | None, split: str | None
) -> tuple[np.ndarray, np.ndarray, list[str], str, Path | None, list[str]]:
    """-> X: (n_x, m), Y: (1, m), class names, description, raw HDF5 file or None, notes."""
    cfg = run.config
    pre = run_preprocessing(run)
    if data_file is not None:
        if split is not None:
            raise ConfigError("--split picks a split of the run's own dataset; it cannot be combined with --data")
        ds = load_dataset({"train": data_file}, cfg.dtype)
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
        if ds.classes != pre.classes and ds.classes != ["0", "1"]:
            raise DataError(f"{data_file}: classes {ds.classes} differ from the run's {pre.classes}")
        raw = resolve_path(data_file) if ds.kind == "image" else None
        return ds.X_train, ds.Y_train, pre.classes, f"{where}", raw, []
    spec, notes = _own_dataset(run)
    ds = load_dataset(spec, cfg.dtype)
    if split is None:
        split = "test" if ds.X_test is not None else "train"
    if split == "test" and ds.X_test is None:
        raise DataError(f"{run.run_dir}: the run's dataset has no test set; use --split train or --data FILE")
    X, Y = ds.split(split)
    source = spec.get(split) or spec.get("synthetic")
    raw = resolve_path(spec[split]) if ds.kind == "image" else None
    return X, Y, ds.classes, f"{split} split ({source})", raw, notes + _changed_sources(run, ds)


def evaluate_run(
    run: LoadedRun, data_file: str | None = None, split: str | None = None, threshold: float = 0.5
) -> Evaluation:
    """Scores the run on its own test set (train set when it has none), on ``split``, or on
    ``data_file``. Raises ConfigError for bad options, DataError for unusable data."""
    cfg = run.config
    head = head_for(cfg.loss)
    if head.labels is None:
        raise ConfigError(f"evaluate scores classifiers; this run's loss {cfg.loss} is not one")
    check_threshold(head, threshold, cfg.loss)
    X, Y, classes, desc, raw, notes = load_eval_data(run, data_file, split)
    arch = Architecture.build(cfg.activations, cfg.loss)
    labels = head.labels(predict_proba(run.params, X, arch), threshold)
    AL, ZL, _ = forward(run.params, X, arch)  # the loss needs the logits ZL
    cm = confusion_matrix(labels, Y, len(classes))
    scores = precision_recall_f1(cm)
    return Evaluation(
        data=desc,
        classes=classes,
        n=int(Y.shape[1]),
        accuracy=accuracy(labels, Y),
        log_loss=log_loss(arch.loss, ZL, AL, Y),
        confusion=cm,
        threshold=threshold,
        labels=labels.reshape(-1),
        Y=Y.reshape(-1),
        notes=notes,
        raw_file=raw,
        **scores,
    )


def _safe(name: str) -> str:
    """A class name usable in a file name on every platform."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "class"


def check_errors_dir(run: LoadedRun, directory: Path) -> None:
    """Refuses ``--errors DIR`` before any work: a run on feature vectors, or DIR an existing
    non-directory."""
    if run_preprocessing(run).kind != "image":
        raise ConfigError("--errors writes images, but this run was trained on feature vectors")
    if directory.exists() and not directory.is_dir():
        raise RunError(f"{directory}: exists and is not a directory (--errors needs a directory)")


def write_errors(ev: Evaluation, directory: Path) -> list[Path]:
    """Writes each misclassified example of an image dataset as
    ``<index>_true-<class>_pred-<class>.png`` (index into the evaluated data, zero-padded) into
    ``directory`` (created if needed). Returns the paths written."""
    from PIL import Image

    if ev.raw_file is None:
        raise ConfigError("--errors writes images, but this run's data are feature vectors, not images")
    wrong = ev.misclassified
    x = read_h5(ev.raw_file).x
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{directory}: cannot create: {exc.strerror or exc}") from None
    width = max(4, len(str(ev.n - 1)))
    written = []
    for i in wrong:
        img = x[i]
        if img.dtype != np.uint8:
            raise DataError(f"{ev.raw_file}: images are {img.dtype}, --errors writes 8-bit images only")
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        name = f"{i:0{width}d}_true-{_safe(ev.classes[ev.Y[i]])}_pred-{_safe(ev.classes[ev.labels[i]])}.png"
        runs.atomic_write(directory / name, buf.getvalue())
        written.append(directory / name)
    return written
