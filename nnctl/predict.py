"""``predict``: new inputs (image files, directories of them, or .csv/.npy feature rows) through
a trained run, prepared exactly as its training data was, in one vectorized forward pass.

Each input that cannot be used becomes a failure naming it; the others are still predicted.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data import prepare_x
from nnctl.errors import DataError, RunError
from nnctl.heads import check_threshold, head_for, interpret
from nnctl.images import ImageError, list_images, load_image
from nnctl.model import Architecture
from nnctl.runs import LoadedRun, Preprocessing

FEATURE_SUFFIXES = (".csv", ".npy")


@dataclass
class PredictOutcome:
    """results: one dict per predicted example, in input order (see ``heads.interpret``), each
    with its ``input`` name first. failures: one message per input that could not be used."""

    results: list[dict[str, Any]]
    failures: list[str]


def expand_inputs(paths: list[Path], pre: Preprocessing) -> list[Path | str]:
    """Directories -> the image files directly inside them (sorted); other paths as given. A
    directory that cannot be used becomes its failure message, in place."""
    items: list[Path | str] = []
    for p in paths:
        if not p.is_dir():
            items.append(p)
        elif pre.kind != "image":
            items.append(f"{p}: is a directory; this run takes .csv or .npy files of feature rows")
        else:
            found = list_images(p)
            items.extend(found or [f"{p}: no image files in this directory"])
    return items


def _feature_rows(path: Path, n_features: int) -> np.ndarray:
    """A .npy or .csv file of feature vectors -> (m, n_features) float64, one example per row.
    A .csv may start with one header line (any non-numeric field makes the first line one)."""
    suffix = path.suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise DataError(f"{path}: this run was trained on feature vectors; give a .csv or .npy file")
    from nnctl.resources import DeclaredTooLarge, NotRegularFile, available_memory, check_declared, npy_header, open_regular

    try:
        # Only regular files (a FIFO would block forever), and a .npy's declared shape is
        # checked before its data is read: a header may declare 10^12 rows.
        with open_regular(path) as f:
            if suffix == ".npy":
                if f.read(2) == b"PK":  # an .npz archive under a .npy name
                    raise DataError(f"{path}: an .npz archive, not a .npy array; give a .npy array or a .csv")
                f.seek(0)
                shape, dtype, _ = npy_header(f)
                if dtype.hasobject:
                    raise DataError(f"{path}: an object array; refusing to unpickle it (give numeric feature rows)")
                room = available_memory()
                check_declared(shape, np.float64, (room or 1 << 40) // 4, str(path))
                f.seek(0)
                x = np.load(f, allow_pickle=False)
            else:
                text = io.TextIOWrapper(f, encoding="utf-8", newline="")
                first = next(csv.reader(text), [])
                header = int(any(not _is_number(field) for field in first))
                text.seek(0)
                with warnings.catch_warnings():
                    # an empty file is reported once, as "no examples", not as numpy's warning too
                    warnings.simplefilter("ignore", UserWarning)
                    x = np.loadtxt(text, delimiter=",", ndmin=2, skiprows=header, dtype=np.float64)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except NotRegularFile as exc:
        raise DataError(f"{path}: {exc.strerror}") from None
    except DeclaredTooLarge as exc:
        raise DataError(str(exc)) from None
    except ValueError as exc:
        raise DataError(f"{path}: not a file of numeric feature rows: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.dtype.kind not in "uifb":
        raise DataError(f"{path}: expected a 2-D numeric array (examples, features), got {x.dtype} {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{path}: no examples")
    if x.shape[1] != n_features:
        raise DataError(f"{path}: rows have {x.shape[1]} features, but the run expects {n_features}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: contains NaN or infinite values")
    return x


def _forward_checked(params: Any, X: np.ndarray, arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
    """The cache-free forward pass (``model.predict_proba``), also saying which examples kept
    every layer's pre-activation finite. X: (n_x, m) -> AL: (n_L, m), finite: (m,) bool."""
    from nnctl.model import linear_forward

    finite = np.ones(X.shape[1], dtype=bool)
    A = X
    with np.errstate(over="ignore", invalid="ignore"):
        for l, (W, b) in enumerate(zip(params.Ws, params.bs)):
            Z = linear_forward(A, W, b)
            finite &= np.isfinite(Z).all(axis=0)
            A = arch.hidden[l].forward(Z) if l < len(params.Ws) - 1 else arch.output.forward(Z)
        finite &= np.isfinite(A).all(axis=0)
    return A, finite


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def predict_inputs(run: LoadedRun, paths: list[Path], threshold: float | None = None) -> PredictOutcome:
    """Prepares every input, runs one forward pass over all of them and interprets the outputs
    with the run's head. Raises RunError only for problems with the run itself."""
    pre = run.preprocessing
    head = head_for(run.config.loss)
    threshold = check_threshold(head, threshold, run.config.loss)
    if pre.kind == "image" and pre.divide_by != 255:
        raise RunError(
            f"{run.run_dir}: trained on images that were not 8-bit (divide_by {pre.divide_by}); "
            "image files cannot be prepared the same way"
        )
    names: list[str] = []
    examples: list[np.ndarray] = []
    failures: list[str] = []
    for path in expand_inputs(paths, pre):
        if isinstance(path, str):
            failures.append(path)
            continue
        try:
            if pre.kind == "image":
                examples.append(load_image(path, pre.input_shape, pre.color_mode)[None])
                names.append(str(path))
            else:
                rows = _feature_rows(path, math.prod(pre.input_shape))
                examples.append(rows)
                names.extend(f"{path}[{i}]" for i in range(rows.shape[0]))
        except (ImageError, DataError) as exc:
            failures.append(str(exc))
    if not examples:
        return PredictOutcome([], failures)
    X = prepare_x(np.concatenate(examples), pre.divide_by, np.dtype(run.config.dtype).type)
    AL, finite = _forward_checked(run.params, X, Architecture.build(run.config.activations, run.config.loss))
    # Huge feature values (1.7e308) overflow inside the network: that example's answer is
    # no answer, and is reported as a failure naming it instead of a NaN (or saturated) probability.
    if not finite.all():
        for j in np.flatnonzero(~finite):
            failures.append(f"{names[j]}: overflowed inside the network (largest input value "
                            f"{np.max(np.abs(X[:, j])):.3g}); the values are far outside what it was trained on")
        names = [n for n, ok in zip(names, finite) if ok]
        AL = AL[:, finite]
    if not names:
        return PredictOutcome([], failures)
    results = [{"input": name, **r} for name, r in zip(names, interpret(head, AL, pre.classes, threshold))]
    return PredictOutcome(results, failures)
