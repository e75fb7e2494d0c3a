"""``nnctl.train``: what ``nnctl train CONFIG --set ...`` does, from Python: the same config
resolution, the same ``train_run`` (so the same parameters, bit for bit), the same run
directory; arrays given as data are written first where the readers read them
(``nnctl.api.arrays``)."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

from nnctl.api.arrays import DATA_FOLDER, DataFile, data_file, write_data_file
from nnctl.api.configs import resolve_config
from nnctl.api.errors import DataTypeError, DataValueError, NnctlWarning
from nnctl.api.run import Run
from nnctl.api.session import (
    Callback,
    TrainDisplay,
    as_display,
    check_count,
    decoding_callback,
    run_training,
)
from nnctl.api.tracked import tracked, trackers

_SPLIT_KEYS = ("train", "val", "test", "synthetic", "images")


def _array_splits(X: Any, y: Any, X_test: Any, y_test: Any) -> dict[str, DataFile]:
    """The splits given as arrays, checked: {"train": ..., "test": ...} (empty: none)."""
    if X is None and y is None:
        if X_test is not None or y_test is not None:
            raise DataTypeError("X_test and y_test come with X and y (the training data)")
        return {}
    if X is None or y is None:
        raise DataTypeError("give both X and y (the training examples and their labels)")
    splits = {"train": data_file(X, y)}
    if (X_test is None) != (y_test is None):
        raise DataTypeError("give both X_test and y_test, or neither")
    if X_test is not None:
        test = data_file(X_test, y_test, "X_test", "y_test")
        n, n_test = splits["train"].X.shape[1], test.X.shape[1]
        if n_test != n:
            raise DataValueError(
                f"X_test: {n_test} features per example but the training data has {n}"
            )
        splits["test"] = test
    return splits


def _with_array_dataset(
    overrides: dict[str, Any], splits: dict[str, DataFile], folder: Path
) -> dict[str, Any]:
    """The overrides with ``dataset`` naming the arrays' files (not yet written) first, so a
    dotted ``dataset.KEY`` override still applies to it. ``dataset`` overrides may add reading
    keys (``test_fraction``, ``seed``), not other data."""
    extra = overrides.get("dataset") or {}
    dotted = [k.split(".")[1] for k in overrides if k.startswith("dataset.")]
    if not isinstance(extra, dict) or any(k in _SPLIT_KEYS for k in [*extra, *dotted]):
        raise DataTypeError(
            "X and y are the dataset; dataset= may only add keys such as test_fraction and seed"
        )
    dataset = {role: str((folder / d.name).absolute()) for role, d in splits.items()}
    rest = {k: v for k, v in overrides.items() if k != "dataset"}
    return {"dataset": {**dataset, **extra}, **rest}


def train(
    config: Any = None,
    *,
    runs_dir: str | Path | None = None,
    X: Any = None,
    y: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    progress: bool | TrainDisplay = False,
    callback: Callback | None = None,
    threads: int | None = None,
    track: list[str] | None = None,
    defer_tracking: bool = False,
    **overrides: Any,
) -> Run:
    """Trains a network and returns its run, as ``nnctl train CONFIG --set KEY=VALUE`` does.

    ``config``: a YAML file's path, a dict with a config file's keys, or a loaded ``Config``
    (None: a dict made of the overrides alone). ``overrides``: config keys
    (``learning_rate=0.01``, ``dataset={"train": "x.csv"}``; dotted keys through
    ``**{"dataset.test_fraction": 0.3}``), validated exactly as ``--set`` is.

    ``X``: (m, n_features) training examples, ``y``: (m,) labels (numbers or strings) or
    regression targets (m,) / (m, n_outputs); ``X_test``, ``y_test`` likewise. They replace the
    config's dataset and are written under ``<runs_dir>/data/`` (see ``nnctl.api.arrays``), so
    the run stays usable by every command.

    ``runs_dir``: where the run directory is made (default: $NNCTL_RUNS_DIR, else ./runs).
    ``threads``: BLAS threads (default: chosen per run, recorded, kept by ``resume``).
    ``callback(TrainProgress)``: after every step; ``progress=True``: rich's progress bar, or
    a display of one's own (``nnctl.api.TrainDisplay``: ``nnctl train`` passes its bar).
    ``track``: as ``--track`` (``["mlflow", "tensorboard=DIR"]``), added to the config's
    ``tracking`` key; a tracker that fails is an ``NnctlWarning``, never an error.
    ``defer_tracking``: leave the ended run's trackers to ``Run.finish_tracking()``, so that
    what is written meanwhile (``nnctl train --report``'s report) goes to them too.
    Nothing is printed; the config's and data's warnings are issued as ``NnctlWarning``.

    Raises ConfigError, DataError (``DataValueError`` / ``DataTypeError`` for bad arrays) or
    RunError, before anything is written; RunFailed (a RunError) when training stopped on an
    error once its run directory existed (the run kept, marked failed; ``run_dir`` names it);
    TrainingDiverged when the cost diverged;
    TrainingInterrupted (a KeyboardInterrupt) on Ctrl-C or SIGTERM, the run resumable.
    """
    from nnctl.commands import train_run
    from nnctl.runs import default_runs_dir

    where = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    check_count("threads", threads)
    display = as_display(progress)
    splits = _array_splits(X, y, X_test, y_test)
    folder = where / DATA_FOLDER
    if splits:
        overrides = _with_array_dataset(overrides, splits, folder)
    cfg = resolve_config({} if config is None else config, overrides)
    for warning in cfg.warnings():
        warnings.warn(warning, NnctlWarning, stacklevel=2)
    made = [p for p in (where, folder) if not p.exists()]
    created = []
    for d in splits.values():
        path, new = write_data_file(d, folder)
        if new:
            created.append(path)
    tracking = trackers(cfg.tracking, track, where)
    start = functools.partial(
        train_run, cfg, where, on_progress=decoding_callback(display), threads=threads
    )
    if tracking is not None:
        start = tracked(start, tracking)
    try:
        run = run_training(start, Run, callback=callback, display=display, threads=threads)
    except BaseException as exc:
        if created and _unused(created, where):
            _remove(created, made)
        if tracking is not None and getattr(exc, "run", None) is not None:
            exc.run.track_later(tracking)  # a diverged or interrupted run is tracked too
            if not defer_tracking:
                exc.run.finish_tracking()
        raise
    if tracking is not None:
        run.track_later(tracking)
        if not defer_tracking:
            run.finish_tracking()
    return run


def _unused(created: list[Path], runs_dir: Path) -> bool:
    """No run directory names these data files (the training failed before making one)."""
    from nnctl.runs import iter_run_dirs, read_config_text

    names = [str(p.absolute()) for p in created]
    return not any(
        any(n in (read_config_text(d) or "") for n in names) for d in iter_run_dirs(runs_dir)
    )


def _remove(files: list[Path], folders: list[Path]) -> None:
    """Data the refused training wrote, and the folders it made for it, when left empty."""
    for path in files:
        path.unlink(missing_ok=True)
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:  # not empty (another run's files), or already gone
            pass
