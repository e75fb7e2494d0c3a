"""A cv directory (``<runs>/cv/<id>/``, written by ``nnctl cv``: ``nnctl.sweep.cv``) read back:
its record (``cv.json``), its out-of-fold predictions (``oof.npz``) and the suspect labels they
point to. Here, below the commands, so that the report can show a fold run's cross-validation
beside it (``nnctl.commands.report.cv``) with the same suspects ``nnctl cv --suspects`` lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.system import RunError, UsageError

CV_DIR = "cv"
RECORD_FILE = "cv.json"
OOF_NPZ, OOF_CSV = "oof.npz", "oof.csv"


def cv_dir_of(run_dir: Path, cv_id: str) -> Path:
    """Where the cv directory of a fold run (``cv`` in its summary) is: beside its runs."""
    return run_dir.parent / CV_DIR / cv_id


def read_record(cv_dir: Path) -> dict[str, Any]:
    """A cv directory's cv.json. Raises RunError when it is missing or damaged."""
    path = cv_dir / RECORD_FILE
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the cv record ({exc})") from None
    if not isinstance(obj, dict):
        raise RunError(f"{path}: damaged cv record (not a JSON object)")
    return obj


@dataclass(frozen=True)
class Suspect:
    """An example whose out-of-fold prediction disagrees with its label."""

    index: int  # column of the training data (the order the dataset loads it in)
    fold: int
    label: str
    predicted: str
    p_label: float  # the out-of-fold probability of its own label
    p_predicted: float


def read_oof(cv_dir: Path) -> dict[str, np.ndarray]:
    """oof.npz's arrays: index (m,), fold (m,), label (1, m) or targets, output (K, m).
    Raises RunError when it is missing or damaged."""
    path = cv_dir / OOF_NPZ
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in ("index", "fold", "label", "output")}
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{path}: cannot read the out-of-fold predictions ({exc})") from None
    m = out["index"].shape[0]
    if any(a.shape[-1] != m for a in out.values()) or out["output"].ndim != 2:
        raise RunError(f"{path}: damaged out-of-fold predictions (arrays of different lengths)")
    return out


def suspects(cv_dir: Path, n: int) -> list[Suspect]:
    """The ``n`` examples whose out-of-fold predicted class differs from their label, ranked
    by the out-of-fold probability of their label, lowest (most confidently contradicted)
    first. Reads the cv directory's oof.npz and cv.json; classifiers only (UsageError else).
    Raises RunError for a missing or damaged file."""
    record = read_record(cv_dir)
    if record.get("task") != "classification":
        raise UsageError("--suspects: suspect labels need a classifier")
    classes = [str(c) for c in record.get("classes") or []]
    z = read_oof(cv_dir)
    fold, label, P = z["fold"], z["label"].reshape(-1).astype(np.int64), z["output"]
    if (
        P.shape[0] != len(classes)
        or label.size
        and (label.min() < 0 or label.max() >= len(classes))
    ):
        return []
    known = np.all(np.isfinite(P), axis=0)
    cols = np.arange(label.size)
    p_label = P[label, cols]
    pred = np.argmax(P, axis=0)
    wrong = np.flatnonzero(known & (pred != label))
    order = wrong[np.argsort(p_label[wrong], kind="stable")][:n]
    return [
        Suspect(
            int(i),
            int(fold[i]),
            classes[label[i]],
            classes[pred[i]],
            float(p_label[i]),
            float(P[pred[i], i]),
        )
        for i in order
    ]
