"""A complete run on new inputs: predictions (``predict_inputs``, what ``nnctl predict`` runs)
and scores (``evaluate_run``, what ``nnctl evaluate`` runs). Arrays go, checked, straight to
predict's forward pass (``predict_examples``, the step after the command has read its files),
so ``run.predict(X)`` is ``nnctl predict RUN X.npy --json`` to the last bit; messages name the
examples ``X[k]``. ``evaluate`` on arrays writes them to a temporary data file, which the
command's own reading (labels to classes) then loads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.api.errors import DataValueError
from nnctl.system import DataError, OptionError

# nnctl.api.arrays and .session are imported by the functions that use them: nnctl predict's
# start-up (file_predictions) needs neither


def is_paths(inputs: Any) -> bool:
    """A path, or a list or tuple of paths (not arrays)."""
    if isinstance(inputs, (str, os.PathLike)):
        return True
    return (
        isinstance(inputs, (list, tuple))
        and bool(inputs)
        and all(isinstance(p, (str, os.PathLike)) for p in inputs)
    )


@contextmanager
def _scratch() -> Iterator[Path]:
    import tempfile  # here: only evaluate on arrays needs it, not nnctl predict's start-up

    with tempfile.TemporaryDirectory(prefix="nnctl-api-") as d:
        yield Path(d)


def _renamed(exc: DataError, path: Path, name: str) -> DataError:
    """``exc`` with the temporary file's path replaced by what the user gave."""
    cls = DataValueError if type(exc) is DataError else type(exc)
    return cls(str(exc).replace(f"{path}[", f"{name}[").replace(str(path), name))


def _image_rows(loaded: Any, X: Any) -> np.ndarray:
    """X for an image run: (m, height, width, channels) 8-bit images, as the run's files were."""
    a = np.asarray(X)
    shape = tuple(loaded.preprocessing.input_shape)
    if a.dtype != np.uint8 or a.shape[1:] != shape:
        raise DataValueError(
            f"X: holds {a.dtype} images of shape {list(a.shape[1:])}; this run takes uint8 "
            f"images of shape {list(shape)}"
        )
    return a


def predictions(
    loaded: Any, inputs: Any, threshold: float | None, threads: int | None
) -> list[dict[str, Any]]:
    """``nnctl predict --json``'s records for ``inputs`` (paths, or X: (m, n_features) rows):
    one dict per example with ``label``, ``class``, ``probability``, ``probabilities`` (or
    ``value``). Raises DataError naming the first input that could not be used."""
    from nnctl.api.arrays import check_X
    from nnctl.api.session import check_count
    from nnctl.commands import check_predictable, predict_examples

    check_count("threads", threads)
    if is_paths(inputs):
        paths = (
            [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else list(map(Path, inputs))
        )
        outcome = file_predictions(loaded, paths, threshold, threads)
        return _results(outcome.results, outcome.failures, DataError)
    check_predictable(loaded, threshold)
    pre = loaded.preprocessing
    if pre.kind == "image":
        X = _image_rows(loaded, inputs)
    else:
        X = check_X(inputs, n_features=int(np.prod(pre.input_shape)))
    names = [f"X[{k}]" for k in range(X.shape[0])]
    answers = predict_examples(loaded, names, X, threshold, threads)
    failures = [a for a in answers if isinstance(a, str)]
    return _results([a for a in answers if not isinstance(a, str)], failures, DataValueError)


def file_predictions(
    loaded: Any,
    paths: list[Path],
    threshold: float | None,
    threads: int | None,
    stdin: bytes | None = None,
) -> Any:
    """``nnctl predict RUN INPUT...``'s work: every input file (image files, folders of them,
    feature files; ``-``: the image in ``stdin``, the bytes the caller read) through the run in
    one forward pass. Returns a ``PredictOutcome``: ``results``, one ``--json`` record per
    example predicted, and ``failures``, one line per input that could not be used (the others
    are still predicted). Raises OptionError or RunError for the run itself."""
    from nnctl.commands import predict_inputs

    return predict_inputs(loaded, paths, threshold, stdin=stdin, threads=threads)


def _results(
    results: list[dict[str, Any]], failures: list[str], error: type[DataError]
) -> list[dict[str, Any]]:
    """The records, or ``error`` naming the first input that has none (and how many more)."""
    if failures:
        more = len(failures) - 1
        raise error(failures[0] if not more else f"{failures[0]} (and {more} more input(s) failed)")
    return results


def labels_of(results: list[dict[str, Any]], classes: list[str]) -> np.ndarray:
    """Predicted classes (m,): ints when the run's classes are 0..K-1 (it was trained on
    numeric labels), else the class names; regression values (m,) or (m, n_outputs)."""
    if results and results[0]["class"] is None:
        return np.array([r["value"] for r in results], dtype=np.float64)
    if classes == [str(k) for k in range(len(classes))]:
        return np.array([r["label"] for r in results], dtype=np.int64)
    return np.array([r["class"] for r in results], dtype=str)


def probabilities_of(results: list[dict[str, Any]], classes: list[str]) -> np.ndarray:
    """(m, K) class probabilities, columns in the order of the run's classes."""
    if results and results[0]["class"] is None:
        raise OptionError("predict_proba", "needs a classifier; this run is a regression")
    return np.array([[r["probabilities"][c] for c in classes] for r in results], dtype=np.float64)


def evaluation(
    loaded: Any,
    data: Any,
    y: Any,
    split: str | None,
    threshold: float | None,
    threads: int | None,
) -> Any:
    """``nnctl evaluate``'s ``Evaluation`` (or ``RegressionEvaluation``) of the run on its own
    ``split``, on a data file ``data``, or on arrays ``data`` (X) and ``y``."""
    import dataclasses

    from nnctl.api.arrays import DataFile, check_X, check_y
    from nnctl.api.session import check_count
    from nnctl.commands import evaluate_run

    check_count("threads", threads)
    if data is None or is_paths(data):
        if y is not None:
            raise DataValueError("y comes with X; a data file holds its own labels")
        if split is not None and split not in ("train", "val", "test"):
            raise OptionError("split", f"got {split!r}; valid: train, val, test")
        return evaluate_run(loaded, None if data is None else str(data), split, threshold, threads)
    if y is None:
        raise DataValueError("give y, the labels of X, to evaluate on arrays")
    if loaded.preprocessing.kind == "image":
        raise DataValueError(
            "evaluate takes arrays of feature rows; for a run trained on images give a data "
            "file (HDF5 or an image folder)"
        )
    X = check_X(data, n_features=int(np.prod(loaded.preprocessing.input_shape)))
    arrays = DataFile(X, check_y(y, X.shape[0]))
    with _scratch() as d:
        path = d / arrays.name
        path.write_bytes(arrays.content())
        try:
            ev = evaluate_run(loaded, str(path), split, threshold, threads)
        except DataError as exc:
            raise _renamed(exc, path, "X, y") from None
    return dataclasses.replace(ev, data="arrays X, y")


def parse_goal(text: str) -> Any:
    """``--tune-threshold``'s goal: ``f1``, ``precision=P`` or ``recall=R`` as a ``Goal``
    (its ``str`` is the text it was read from). Raises OptionError("tune_threshold")."""
    from nnctl.commands import parse_goal as parse

    return parse(text)


def tuned(loaded: Any, goal: Any, threads: int | None) -> tuple[float, Any]:
    """``Run.tune_threshold``: the threshold meeting ``goal`` (a ``Goal`` or its text) on the
    run's validation split, and the split's ``Evaluation`` at it."""
    from nnctl.commands import tune_threshold

    return tune_threshold(loaded, parse_goal(goal) if isinstance(goal, str) else goal, threads)


def check_errors_folder(loaded: Any, folder: Path) -> None:
    """Refuses, before any work, a folder for the misclassified images of ``evaluate --errors``
    that cannot be one (an existing file) or a run that has no images of classes (feature
    vectors, regression). Raises ConfigError or RunError."""
    from nnctl.commands import check_errors_dir

    check_errors_dir(loaded, folder)


def write_misclassified(evaluation: Any, folder: Path) -> list[Path]:
    """Writes each example an ``Evaluation`` of image data got wrong into ``folder`` (made if
    needed) as ``<index>_true-<class>_pred-<class>.png``; returns the paths written."""
    from nnctl.commands import write_errors

    return write_errors(evaluation, folder)


def is_regression(evaluation: Any) -> bool:
    """Whether ``evaluation`` is a ``RegressionEvaluation`` (mse, mae, r2), not an
    ``Evaluation`` of classes."""
    from nnctl.commands import RegressionEvaluation

    return isinstance(evaluation, RegressionEvaluation)
