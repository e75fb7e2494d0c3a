"""``predict``: new inputs (image files, directories of them, or feature rows in any file kind
``train`` reads: .csv, .npy, .npz, HDF5) through
a trained run, prepared exactly as its training data was, in one vectorized forward pass.

Each input that cannot be used becomes a failure naming it; the others are still predicted.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.core import Architecture, check_threshold, head_for, interpret
from nnctl.data import ImageError, apply_steps, list_images, load_image, prepare_x
from nnctl.runs import LoadedRun, Preprocessing
from nnctl.system import DataError, RunError
from nnctl.system import threads as blas

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
        try:
            is_dir = p.is_dir()
        except OSError:  # a name too long to look up: its own failure, when it is read
            is_dir = False
        if not is_dir:
            items.append(p)
        elif pre.kind != "image":
            items.append(f"{p}: is a directory; this run takes .csv or .npy files of feature rows")
        else:
            found = list_images(p)
            if not found:  # an image dataset folder: the images of its class subfolders
                found = [
                    f
                    for sub in sorted(p.iterdir())
                    if sub.is_dir() and not sub.name.startswith(".")
                    for f in list_images(sub)
                ]
            items.extend(found or [f"{p}: no image files in this directory"])
    return items


def _feature_rows(path: Path, n_features: int, spec: dict[str, Any] | None = None) -> np.ndarray:
    """A file of feature vectors (any kind ``train`` reads: .csv, .npy, .npz, HDF5) ->
    (m, n_features) float64, one example per row. A .csv may start with a header line (any
    non-numeric field makes the first line one); a column named like the run's label is left
    out, so a labelled file predicts too. ``spec``: the run's ``dataset`` (label, features,
    delimiter, x_key)."""
    from nnctl.data import KINDS, ReadOptions, kind_of

    try:
        exists = path.exists()
    except OSError as exc:  # a name too long to look up, ...
        raise DataError(f"{path}: {exc.strerror}") from None
    if not exists:
        raise DataError(f"{path}: no such file")
    _require_regular(path)
    wrong_kind = f"{path}: this run was trained on feature vectors; give a .csv or .npy file"
    try:
        kind = kind_of(path)
    except DataError:
        raise DataError(wrong_kind) from None
    if kind == "npz" and path.suffix.lower() == ".npy":
        raise DataError(f"{path}: an .npz archive, not a .npy array; give a .npy array or a .csv")
    if kind == "images" or not KINDS[kind].features and kind != "hdf5":
        raise DataError(wrong_kind)
    if kind == "csv" and path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise DataError(wrong_kind)
    keys = ("label", "features", "delimiter", "x_key")
    options = ReadOptions({k: (spec or {}).get(k) for k in keys}, need_labels=False)
    x = KINDS[kind].read(path, options).x
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.dtype.kind not in "uifb":
        raise DataError(
            f"{path}: expected a 2-D numeric array (examples, features), got {x.dtype} {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{path}: no examples")
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != n_features:
        raise DataError(
            f"{path}: rows have {x.shape[1]} features, but the run expects {n_features}"
        )
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: contains NaN or infinite values")
    return x


def _require_regular(path: Path) -> None:
    """A FIFO or device given as an input would block the readers forever (or never end): the
    path is opened without blocking and checked first. Raises DataError naming it."""
    from nnctl.system import NotRegularFile, open_regular

    try:
        open_regular(path).close()
    except NotRegularFile as exc:
        raise DataError(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _forward_checked(
    params: Any, X: np.ndarray, arch: Architecture
) -> tuple[np.ndarray, np.ndarray]:
    """The cache-free forward pass (``model.predict_proba``), also saying which examples kept
    every layer's pre-activation finite. X: (n_x, m) -> AL: (n_L, m), finite: (m,) bool."""
    from nnctl.core import forward_layers

    finite = np.ones(X.shape[1], dtype=bool)

    def check(l: int, A_prev: np.ndarray, Z: np.ndarray) -> None:
        np.logical_and(finite, np.isfinite(Z).all(axis=0), out=finite)

    with np.errstate(over="ignore", invalid="ignore"):
        # activations out of place, as predict has always computed them
        AL, _ = forward_layers(params, X, arch, inplace=False, on_layer=check)
        finite &= np.isfinite(AL).all(axis=0)
    return AL, finite


ARRAY_SUFFIXES = (".h5", ".hdf5", ".npy", ".npz")


def _image_arrays(path: Path, input_shape: tuple[int, ...], spec: dict[str, Any]) -> np.ndarray:
    """An HDF5, .npy or .npz file of raw 8-bit images (m, *input_shape) for an image run."""
    from nnctl.data import KINDS, ReadOptions, kind_of

    _require_regular(path)
    kind = kind_of(path)
    options = ReadOptions({"x_key": spec.get("x_key")}, need_labels=False)
    x = KINDS[kind].read(path, options).x
    if x.ndim == len(input_shape):
        x = x[None]
    if x.shape[1:] != tuple(input_shape) or x.dtype != np.uint8:
        raise DataError(
            f"{path}: holds {x.dtype} images of shape {list(x.shape[1:])}; "
            f"this run takes uint8 images of shape {list(input_shape)}"
        )
    return x


STDIN_NAME = "-"


class _StdinImage(io.BytesIO):
    """An image read from standard input; messages name it as the user typed it."""

    def __str__(self) -> str:
        return "- (standard input)"


def check_predictable(run: LoadedRun, threshold: float | None = None) -> None:
    """What ``predict`` refuses about the run itself, before any input is read: a threshold
    its head does not take, and an image run whose images were not 8-bit. Raises OptionError
    or RunError."""
    check_threshold(head_for(run.config.loss), threshold, run.config.loss)
    if run.preprocessing.kind == "image" and run.preprocessing.divide_by != 255:
        raise RunError(
            f"{run.run_dir}: trained on images that were not 8-bit "
            f"(divide_by {run.preprocessing.divide_by}); "
            "image files cannot be prepared the same way"
        )


def predict_inputs(
    run: LoadedRun,
    paths: list[Path],
    threshold: float | None = None,
    stdin: bytes | None = None,
    threads: int | None = None,
) -> PredictOutcome:
    """Prepares every input, runs one forward pass over all of them and interprets the outputs
    with the run's head. A path ``-`` is the image in ``stdin`` (the bytes the CLI read from
    standard input). ``threads``: BLAS threads (None: chosen by the products' size and how busy
    the machine is, ``nnctl.system.threads``). Raises RunError only for problems with the run
    itself."""
    check_predictable(run, threshold)
    pre = run.preprocessing
    names: list[str] = []
    examples: list[np.ndarray] = []
    failures: list[str] = []
    for path in expand_inputs(paths, pre):
        if isinstance(path, str):
            failures.append(path)
            continue
        if str(path) == STDIN_NAME:
            if pre.kind != "image" or stdin is None:
                failures.append(
                    "-: standard input is read only as an image, for runs trained on images"
                )
                continue
            try:
                examples.append(
                    load_image(_StdinImage(stdin), pre.input_shape, pre.color_mode)[None]
                )
                names.append(STDIN_NAME)
            except ImageError as exc:
                failures.append(str(exc))
            continue
        try:
            if pre.kind == "image" and path.suffix.lower() in ARRAY_SUFFIXES:
                stack = _image_arrays(path, pre.input_shape, run.config.dataset)
                examples.append(stack)
                names.extend(f"{path}[{i}]" for i in range(stack.shape[0]))
            elif pre.kind == "image":
                examples.append(load_image(path, pre.input_shape, pre.color_mode)[None])
                names.append(str(path))
            else:
                rows = _feature_rows(path, math.prod(pre.input_shape), run.config.dataset)
                examples.append(rows)
                names.extend(f"{path}[{i}]" for i in range(rows.shape[0]))
        except (ImageError, DataError) as exc:
            failures.append(str(exc))
    if not examples:
        return PredictOutcome([], failures)
    answers = predict_examples(run, names, np.concatenate(examples), threshold, threads)
    failures.extend(a for a in answers if isinstance(a, str))
    return PredictOutcome([a for a in answers if not isinstance(a, str)], failures)


def predict_examples(
    run: LoadedRun,
    names: list[str],
    raw: np.ndarray,
    threshold: float | None = None,
    threads: int | None = None,
) -> list[dict[str, Any] | str]:
    """The one forward pass of ``predict`` over raw examples already read: ``raw`` (m, *shape),
    8-bit images (m, h, w, c) or feature rows (m, n_features), named by ``names`` (m). Prepared
    as the run's training data was (divide_by, its normalization). Returns one answer per
    example, in order: its record (``input`` first, then ``heads.interpret``'s fields), or the
    message saying why it has none (it overflowed inside the network)."""
    pre = run.preprocessing
    head = head_for(run.config.loss)
    threshold = check_threshold(head, threshold, run.config.loss)
    X = prepare_x(raw, pre.divide_by, run.config.float_type)
    X = apply_steps(X, list(pre.steps))  # the run's normalization, statistics of its training split
    with blas.blas_threads(blas.choose(run.config.layer_dims, int(X.shape[1]), threads).blas):
        AL, finite = _forward_checked(run.params, X, run.config.arch)
    # Huge feature values (1.7e308) overflow inside the network: that example's answer is
    # no answer, and is reported as a failure naming it instead of a NaN (or saturated) probability.
    answers: list[dict[str, Any] | str] = [
        f"{names[j]}: overflowed inside the network (largest input value "
        f"{np.max(np.abs(X[:, j])):.3g}); the values are far outside what it was trained on"
        if not ok
        else ""
        for j, ok in enumerate(finite)
    ]
    if finite.any():
        kept = np.flatnonzero(finite)
        records = interpret(head, AL if finite.all() else AL[:, finite], pre.classes, threshold)
        for j, r in zip(kept, records):
            answers[j] = {"input": names[j], **r}
    return answers
