"""Where a run is tracked: the config's ``tracking`` key and ``--track`` resolved against the
runs folder into a ``TrackingSpec`` (a tracking URI, a log folder), and the extras it needs,
checked before anything trains. Imports neither MLflow nor TensorBoard."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.system import Invalid, UsageError, did_you_mean, quote

MLFLOW_DIR = "mlflow"  # under the runs folder: mlflow.db and the artifacts
TENSORBOARD_DIR = "tensorboard"  # under the runs folder: one event folder per run
DEFAULT_EXPERIMENT = "nnctl"
DEFAULT_HISTOGRAMS_EVERY = "auto"
HISTOGRAMS_PER_RUN = 20  # auto: about this many histograms of each array in a run
TRACKERS = ("mlflow", "tensorboard")
EXTRAS = {
    "mlflow": ("mlflow", "MLflow"),
    "tensorboard": ("tensorboard", "TensorBoard"),
}
"""tracker -> (the module it imports, its name in messages); the extra has the tracker's name."""


@dataclass(frozen=True)
class TrackingSpec:
    """The trackers of a run: ``mlflow_uri`` (None: off), its artifact root for a local store
    (None: the server's), ``tensorboard_dir`` (None: off; each run writes a folder inside),
    the MLflow experiment, and the epochs between weight and gradient histograms (``auto``:
    about HISTOGRAMS_PER_RUN in the run; None: none)."""

    mlflow_uri: str | None = None
    artifact_root: Path | None = None
    tensorboard_dir: Path | None = None
    experiment: str = DEFAULT_EXPERIMENT
    histograms_every: int | str | None = DEFAULT_HISTOGRAMS_EVERY

    @property
    def on(self) -> bool:
        return self.mlflow_uri is not None or self.tensorboard_dir is not None

    @property
    def trackers(self) -> list[str]:
        return [
            t
            for t, v in (("mlflow", self.mlflow_uri), ("tensorboard", self.tensorboard_dir))
            if v is not None
        ]


def default_mlflow_uri(runs_dir: Path) -> str:
    """The local store a run goes to with ``mlflow: true``: ``RUNS/mlflow/mlflow.db``."""
    return f"sqlite:///{(runs_dir / MLFLOW_DIR / 'mlflow.db').absolute()}"


def _artifact_root(uri: str) -> Path | None:
    """Artifacts of a local store: beside a sqlite file (``artifacts/``); a ``file:`` store
    and a server keep their own (None)."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :]).absolute().parent / "artifacts"
    return None


def parse_track(items: list[str]) -> dict[str, Any]:
    """``--track mlflow``, ``--track mlflow=URI``, ``--track tensorboard[=DIR]`` -> the
    ``tracking`` keys they set (checked as the config's). Raises UsageError."""
    from nnctl.config.values import check_log_dir, check_mlflow_uri

    out: dict[str, Any] = {}
    for item in items:
        name, sep, where = item.partition("=")
        name = name.strip().lower()
        if name not in TRACKERS:
            raise UsageError(
                f"--track {quote(item)}: unknown tracker{did_you_mean(name, list(TRACKERS))}; "
                "give mlflow, mlflow=URI, tensorboard or tensorboard=DIR"
            )
        check = check_mlflow_uri if name == "mlflow" else check_log_dir
        try:
            out[name] = check(where) if sep else True
        except Invalid as exc:
            raise UsageError(f"--track {item}: {exc}") from None
    return out


def resolve_tracking(
    tracking: dict[str, Any] | None, track: list[str] | None, runs_dir: Path
) -> TrackingSpec:
    """The trackers of a run from its config's ``tracking`` (checked already) and ``--track``
    (added to it, a tracker given in both taking --track's place), against ``runs_dir`` for
    ``true`` and relative folders (relative to the working directory, as ``--runs-dir``)."""
    keys = {**(tracking or {}), **parse_track(track or [])}
    uri = keys.get("mlflow")
    if uri is True:
        uri = default_mlflow_uri(runs_dir)
    board = keys.get("tensorboard")
    board_dir = runs_dir / TENSORBOARD_DIR if board is True else Path(board) if board else None
    every = keys.get("histograms_every", DEFAULT_HISTOGRAMS_EVERY)
    return TrackingSpec(
        mlflow_uri=uri or None,
        artifact_root=_artifact_root(uri) if uri else None,
        tensorboard_dir=board_dir.absolute() if board_dir is not None else None,
        experiment=keys.get("experiment") or DEFAULT_EXPERIMENT,
        histograms_every=every,
    )


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a module set to None in
    ``sys.modules`` counts as missing, as ``import`` treats it)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_extras(spec: TrackingSpec) -> None:
    """Refuses, before anything trains, a tracker whose extra is not installed: one line
    saying how to install it. Raises UsageError."""
    missing = [t for t in spec.trackers if not installed(EXTRAS[t][0])]
    if missing:
        names = " and ".join(EXTRAS[t][1] for t in missing)
        extras = ",".join(missing)
        raise UsageError(
            f"tracking to {names} needs the {extras} extra, which is not installed; install it "
            f"with: pip install 'nnctl[{extras}]'"
        )
