"""``RunSummary``: a run's summary file as a typed object, with its one writer and one reader.

The file is JSON, written by ``train`` when a run starts and again when it ends (or fails). Its
keys, in the order written:

- identity and provenance: ``run_id``, ``name``, ``status`` (``running``, ``complete``,
  ``interrupted``, ``diverged`` or ``failed``; readers show a ``running`` run whose process is
  gone as ``stale``), ``created``, ``owner`` (the training process: ``pid``, ``host``,
  ``started``), ``config_file``, ``config_path``
  (the original config, whose folder relative data paths are looked up beside), the versions of
  nnctl, numpy and Python, ``task`` (``classification`` or ``regression``), ``blas`` (one
  ``{internal_api, version, num_threads, architecture}`` per BLAS library loaded), ``cpu``,
  ``cpu_features`` (the SIMD targets numpy dispatches its kernels to on this CPU) and
  ``threads`` (the BLAS threads training uses: ``{setting, blas_threads, reason}``, see
  ``nnctl.system.threads``; a resume records its own in its ``resumed`` entry);
- the network: ``layer_dims``, ``activations``, ``loss``, ``dtype``;
- the data: ``dataset`` (``sources``, ``n_train``, ``n_test``, ``n_features``, ``n_val``) and
  ``preprocessing`` (what ``predict`` needs to prepare new inputs the same way);
- ``iterations`` planned, ``warnings`` (if any), ``resumed`` (one entry per resume:
  ``at``, ``from_iteration``, ``blas``, ``cpu``, ``threads``, and for a run trained further
  ``extended_from``, the length it had: ``{iterations: N}`` or ``{epochs: N}``);
- the end: ``finished``, ``message``, ``iterations_done``, ``epochs_done``, ``seconds``,
  ``final_cost``, ``best_epoch`` / ``stopped_early`` (early stopping), and the scores
  ``<split>_<metric>`` (split train, val or test; metric accuracy, or mse, mae and r2) and
  ``val_loss``;
- ``config``: the resolved config flattened to dotted keys (``dataset.test_fraction``), so that
  listing and comparing runs needs no config file parsed.

Summaries written by earlier versions lack ``task``, ``blas``, ``cpu`` and ``config``; the
reader derives ``task`` and leaves the others None.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnctl.runs.files import SUMMARY_FILE, utc_now, write_json
from nnctl.system import RunError

TASKS = ("classification", "regression")
SPLITS = ("train", "val", "test")
METRICS = ("accuracy", "mse", "mae", "r2")
_SCORE_KEY = re.compile(r"^(train|val|test)_(accuracy|mse|mae|r2)$|^val_loss$")


def is_score_key(key: str) -> bool:
    """``train_accuracy``, ``test_mse``, ``val_loss``, ...: the keys ``RunSummary.scores`` holds."""
    return bool(_SCORE_KEY.match(key))


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'dataset': {'m': 400}} -> {'dataset.m': 400}; lists stay values."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# What each key may hold (besides null). "number" is an int or a float, never a bool.
_STR, _INT, _NUMBER, _BOOL, _LIST, _DICT = (
    "a string",
    "an integer",
    "a number",
    "true or false",
    "a list",
    "an object",
)
_FIELDS: dict[str, str] = {
    "run_id": _STR,
    "name": _STR,
    "status": _STR,
    "created": _STR,
    "owner": _DICT,
    "config_file": _STR,
    "config_path": _STR,
    "nnctl_version": _STR,
    "numpy_version": _STR,
    "python_version": _STR,
    "task": _STR,
    "blas": _LIST,
    "cpu": _STR,
    "cpu_features": _LIST,
    "threads": _DICT,
    "layer_dims": _LIST,
    "activations": _LIST,
    "loss": _STR,
    "dtype": _STR,
    "dataset": _DICT,
    "preprocessing": _DICT,
    "iterations": _INT,
    "warnings": _LIST,
    "resumed": _LIST,
    "finished": _STR,
    "message": _STR,
    "iterations_done": _INT,
    "epochs_done": _INT,
    "seconds": _NUMBER,
    "final_cost": _NUMBER,
    "best_epoch": _INT,
    "stopped_early": _BOOL,
    "config": _DICT,
}


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    return isinstance(value, list if kind == _LIST else dict)


def _json_kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


@dataclass
class RunSummary:
    """One run's summary. Fields are None when not (yet) known: a running run has no
    ``finished``; a summary from an earlier version has no ``blas``, ``cpu`` or ``config``."""

    run_id: str | None = None  # the directory's name; a summary naming another is no run of it
    name: str | None = None
    status: str | None = None
    created: str | None = None
    owner: dict[str, Any] | None = None  # the training process: pid, host, started (runs.lock)
    config_file: str | None = None
    config_path: str | None = None
    nnctl_version: str | None = None
    numpy_version: str | None = None
    python_version: str | None = None
    task: str = "classification"  # recorded; derived by the reader for older summaries
    blas: list[dict[str, Any]] | None = None
    cpu: str | None = None
    cpu_features: list[str] | None = None  # numpy's SIMD dispatch targets on this CPU
    threads: dict[str, Any] | None = None  # nnctl.system.threads.ThreadChoice.to_json()
    layer_dims: list[int] | None = None
    activations: list[str] | None = None
    loss: str | None = None
    dtype: str | None = None
    dataset: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] | None = None
    iterations: int | None = None
    warnings: list[str] = field(default_factory=list)
    resumed: list[dict[str, Any]] | None = None
    finished: str | None = None
    message: str | None = None
    iterations_done: int | None = None
    epochs_done: int | None = None
    seconds: float | None = None
    final_cost: float | None = None
    best_epoch: int | None = None
    stopped_early: bool | None = None  # None: the run had no early stopping
    scores: dict[str, float | None] = field(default_factory=dict)  # {'train_accuracy': 0.98, ...}
    config: dict[str, Any] | None = None  # the resolved config, flattened to dotted keys
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # keys this version does not know, kept as read

    # ----------------------------------------------------------------- accessors

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The data files (or generator settings) the run trained on: role, path, sha256, ..."""
        return list(self.dataset.get("sources") or [])

    def metric(self, key: str) -> float | None:
        """A score by its summary key (``test_accuracy``, ``train_r2``, ``val_loss``); None
        when the run has none. A key that is no score at all is a bug: ValueError."""
        if not is_score_key(key):
            raise ValueError(
                f"{key!r} is not a score key "
                f"(expected <train|val|test>_<{'|'.join(METRICS)}> or val_loss)"
            )
        return self.scores.get(key)

    # ----------------------------------------------------------------- writer

    @classmethod
    def new(cls, run_id: str, cfg: Any, ds: Any, iterations: int) -> RunSummary:
        """The summary of a run about to train ``cfg`` (a bound ``Config``) on ``ds`` (its
        ``Dataset``), with the machine it runs on."""
        import numpy as np

        import nnctl
        from nnctl.core import LOSSES

        dataset = {
            "sources": ds.sources,
            "n_train": int(ds.X_train.shape[1]),
            "n_test": None if ds.X_test is None else int(ds.X_test.shape[1]),
            "n_features": ds.n_features,
        }
        if ds.X_val is not None:
            dataset["n_val"] = int(ds.X_val.shape[1])
        blas, cpu = machine()
        return cls(
            run_id=run_id,
            name=cfg.name,
            status="running",
            created=utc_now(),
            config_file=cfg.source,
            config_path=cfg.path,
            nnctl_version=nnctl.__version__,
            numpy_version=np.__version__,
            python_version=platform.python_version(),
            task=LOSSES[cfg.loss].task,
            blas=blas,
            cpu=cpu,
            cpu_features=cpu_features(),
            layer_dims=cfg.layer_dims,
            activations=cfg.activations,
            loss=cfg.loss,
            dtype=cfg.dtype,
            dataset=dataset,
            preprocessing=ds.preprocessing(),
            iterations=iterations,
            warnings=cfg.warnings(),
            config=flatten(cfg.to_dict()),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object the summary file holds (see the module docstring for the keys)."""
        d: dict[str, Any] = {
            "run_id": self.run_id,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            **({"owner": self.owner} if self.owner is not None else {}),
            "config_file": self.config_file,
            "config_path": self.config_path,
            "nnctl_version": self.nnctl_version,
            "numpy_version": self.numpy_version,
            "python_version": self.python_version,
            "task": self.task,
        }
        if self.blas is not None:
            d["blas"] = self.blas
        if self.cpu is not None:
            d["cpu"] = self.cpu
        if self.cpu_features is not None:
            d["cpu_features"] = self.cpu_features
        if self.threads is not None:
            d["threads"] = self.threads
        d.update(
            layer_dims=self.layer_dims,
            activations=self.activations,
            loss=self.loss,
            dtype=self.dtype,
            dataset=self.dataset,
            preprocessing=self.preprocessing,
            iterations=self.iterations,
        )
        if self.warnings:
            d["warnings"] = self.warnings
        if self.resumed is not None:
            d["resumed"] = self.resumed
        if self.finished is not None or self.message is not None:
            d.update(finished=self.finished, message=self.message)
        if self.iterations_done is not None:  # training ended: these are known, even if null
            d.update(
                iterations_done=self.iterations_done,
                epochs_done=self.epochs_done,
                seconds=self.seconds,
                final_cost=self.final_cost,
            )
        if self.stopped_early is not None:
            d.update(best_epoch=self.best_epoch, stopped_early=self.stopped_early)
        d.update(self.scores)
        if self.config is not None:
            d["config"] = self.config
        d.update(self.extra)
        return d

    def write(self, run_dir: Path) -> None:
        """Writes the summary file atomically. Raises RunError (disk) or ValueError (a value
        JSON cannot hold, e.g. NaN)."""
        write_json(run_dir / SUMMARY_FILE, self.to_json())

    # ----------------------------------------------------------------- reader

    @classmethod
    def from_json(cls, obj: Any, where: Path | str) -> RunSummary:
        """Checks every known key's type (one RunError naming ``where`` and the key) and fills
        in what older versions did not record (``task``)."""
        if not isinstance(obj, dict):
            raise RunError(f"{where}: damaged (expected a JSON object)")
        kwargs: dict[str, Any] = {}
        scores: dict[str, float | None] = {}
        extra: dict[str, Any] = {}
        for key, value in obj.items():
            if key in _FIELDS:
                if not _fits(value, _FIELDS[key]):
                    raise RunError(
                        f"{where}: damaged: {key} is {_json_kind(value)}, expected {_FIELDS[key]}"
                    )
                kwargs[key] = value
            elif is_score_key(key):
                if not _fits(value, _NUMBER):
                    raise RunError(
                        f"{where}: damaged: {key} is {_json_kind(value)}, expected {_NUMBER}"
                    )
                scores[key] = value
            else:
                extra[key] = value
        for key in ("dataset", "warnings"):  # null in the file reads as empty
            if kwargs.get(key) is None:
                kwargs.pop(key, None)
        sources = kwargs.get("dataset", {}).get("sources")
        if sources is not None and not (
            isinstance(sources, list) and all(isinstance(s, dict) for s in sources)
        ):
            raise RunError(
                f"{where}: damaged: dataset.sources is {_json_kind(sources)}, "
                "expected a list of objects"
            )
        task = kwargs.get("task")
        if task is None:
            kwargs["task"] = _derive_task(kwargs.get("loss"), scores)
        elif task not in TASKS:
            raise RunError(f"{where}: damaged: task is {task!r}, expected {' or '.join(TASKS)}")
        return cls(**kwargs, scores=scores, extra=extra)


def _derive_task(loss: str | None, scores: dict[str, Any]) -> str:
    """The task of a summary written before it was recorded: regression if it has regression
    scores, else the loss's task, else classification."""
    if any(k.endswith(("_mse", "_mae", "_r2")) for k in scores):
        return "regression"
    from nnctl.core import LOSSES

    return LOSSES[loss].task if loss in LOSSES else "classification"


def read_summary(run_dir: Path) -> RunSummary:
    """The summary of a run directory. Raises RunError when missing or damaged."""
    from nnctl.system import MAX_RUN_TEXT_BYTES, read_capped

    path = run_dir / SUMMARY_FILE
    try:
        obj = json.loads(read_capped(path, MAX_RUN_TEXT_BYTES))
    except FileNotFoundError:
        raise RunError(f"{run_dir}: not a run directory (no {SUMMARY_FILE})") from None
    except RecursionError:
        raise RunError(f"{path}: damaged: nested too deeply") from None
    except OSError as exc:
        raise RunError(f"{path}: unreadable: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise RunError(f"{path}: damaged or unreadable: {exc}") from None
    return RunSummary.from_json(obj, path)


# --------------------------------------------------------------------------- the machine


def machine() -> tuple[list[dict[str, Any]], str]:
    """(blas, cpu): the BLAS libraries numpy uses, each {internal_api, version, num_threads,
    architecture}, and the CPU model. Both decide a run's speed, and BLAS its last bits."""
    import numpy  # noqa: F401  - BLAS must be loaded for threadpoolctl to see it
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "num_threads", "architecture")
    blas = [
        {k: lib.get(k) for k in keys} for lib in threadpool_info() if lib.get("user_api") == "blas"
    ]
    return blas, cpu_model()


def cpu_features() -> list[str] | None:
    """The SIMD targets numpy was built to dispatch to that this CPU has (e.g. ``X86_V3``,
    ``AVX512_SKX``): which of its kernels (exp, tanh, sums) run, and so their last bits. None
    when this numpy does not say."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.x
        try:
            from numpy.core import _multiarray_umath as umath
        except ImportError:
            return None
    have = getattr(umath, "__cpu_features__", None)
    targets = getattr(umath, "__cpu_dispatch__", None)
    if not isinstance(have, dict) or not isinstance(targets, (list, tuple)):
        return None
    return [str(t) for t in targets if have.get(t)]


def cpu_model() -> str:
    """'model name' from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
