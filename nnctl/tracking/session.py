"""Tracking a training, a sweep or existing runs. ``Tracking`` follows one training: weight
and gradient histograms while it trains (``on_epoch``, fed by ``nnctl.commands.train``),
then ``finish`` writes the run, from its directory, to each tracker. ``track_runs`` writes
runs that already exist (``nnctl runs track``); ``track_group`` a sweep's trials under one
parent.

A tracker that fails never costs the run: the failure is one warning line (returned, the
caller prints it) naming the tracker, the run and the command that brings the run in later,
and the other tracker still writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnctl.tracking.spec import TrackingSpec

NAMES = {"mlflow": "MLflow", "tensorboard": "TensorBoard"}
REASON_CHARS = 200


def _reason(exc: BaseException) -> str:
    """An exception as a few words: its first line, bounded (MLflow's can run to pages)."""
    first = (str(exc).strip().splitlines() or [""])[0].strip()
    if len(first) > REASON_CHARS:
        first = first[: REASON_CHARS - 3] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _where(spec: TrackingSpec, tracker: str) -> str:
    return str(spec.mlflow_uri if tracker == "mlflow" else spec.tensorboard_dir)


def backfill_hint(spec: TrackingSpec, tracker: str, run_id: str) -> str:
    flag = "--mlflow" if tracker == "mlflow" else "--tensorboard"
    return f"nnctl runs track {run_id} {flag} {_where(spec, tracker)}"


def failure_line(
    spec: TrackingSpec, tracker: str, what: str, exc: BaseException, run_id: str
) -> str:
    return (
        f"tracking: {NAMES[tracker]} ({_where(spec, tracker)}) could not {what}: {_reason(exc)}; "
        f"the run is saved; bring it in later with: {backfill_hint(spec, tracker, run_id)}"
    )


def _write_one(spec: TrackingSpec, tracker: str, records: list[Any], group: Any = None) -> Any:
    if tracker == "mlflow":
        from nnctl.tracking.mlflow_log import log_runs

        return log_runs(records, spec, group)
    from nnctl.tracking.tensorboard_log import write_run

    base = spec.tensorboard_dir
    assert base is not None
    if group is not None:
        base = base / group["name"]
    return [write_run(r, base / r.run_id) for r in records]


@dataclass
class Tracking:
    """One training's trackers. ``on_start`` and ``on_epoch`` are the training's callbacks;
    ``finish(run_dir)`` writes the ended run and returns the warning lines (none: all went)."""

    spec: TrackingSpec
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where each tracker wrote, one line each
    run_id: str | None = None
    total_iterations: int | None = None
    _every: int | None = None
    _histograms: Any = None
    _histograms_failed: bool = False
    _failed: set[str] = field(default_factory=set)

    def _warn(self, tracker: str, what: str, exc: BaseException, run_id: str) -> None:
        """One warning line per tracker, its first failure (it says how to bring the run in;
        a second would say it again)."""
        if tracker not in self._failed:
            self._failed.add(tracker)
            self.warnings.append(failure_line(self.spec, tracker, what, exc, run_id))

    def on_start(self, start: Any) -> None:
        self.run_id, self.total_iterations = start.run_id, start.total_iterations
        if self.spec.tensorboard_dir is not None and self.spec.histograms_every is not None:
            try:  # the writer (and TensorBoard's import) before the training's clock starts
                from nnctl.tracking.tensorboard_log import HistogramWriter

                self._histograms = HistogramWriter(self.spec.tensorboard_dir / self.run_id)
            except Exception as exc:
                self._histograms_failed = True
                self._warn("tensorboard", "write histograms", exc, self.run_id)

    def _histogram_every(self, end: Any) -> int | None:
        """Epochs between histograms; ``auto``: about HISTOGRAMS_PER_RUN in the run (the
        steps per epoch known at the first epoch's end)."""
        from nnctl.tracking.spec import HISTOGRAMS_PER_RUN

        every = self.spec.histograms_every
        if every != "auto":
            return every
        if self._every is None:
            per_epoch = max(1, end.iteration // max(1, end.epoch))
            epochs = -(-(self.total_iterations or end.iteration) // per_epoch)
            self._every = max(1, -(-epochs // HISTOGRAMS_PER_RUN))
        return self._every

    def chained_start(self, other: Callable[[Any], None] | None) -> Callable[[Any], None]:
        """An ``on_start`` that calls ``other`` (the display's) and then this one."""

        def both(start: Any) -> None:
            if other is not None:
                other(start)
            self.on_start(start)

        return both

    def on_epoch(self, end: Any) -> None:
        """After an epoch (``nnctl.commands.train.EpochEnd``): the histograms when due."""
        if self.spec.tensorboard_dir is None or self._histograms_failed or self.run_id is None:
            return
        every = self._histogram_every(end)
        if every is None or end.epoch % every:
            return
        try:
            if self._histograms is None:
                from nnctl.tracking.tensorboard_log import HistogramWriter

                self._histograms = HistogramWriter(self.spec.tensorboard_dir / self.run_id)
            self._histograms.write(end.iteration - 1, end.params(), end.gradients())
        except Exception as exc:
            self._histograms_failed = True
            self._warn("tensorboard", "write histograms", exc, self.run_id)

    def finish(self, run_dir: Path) -> list[str]:
        """Writes the ended run in ``run_dir`` to every tracker; the warning lines."""
        from nnctl.tracking.record import read_record

        if self._histograms is not None:
            try:
                self._histograms.close()
            except Exception as exc:
                self._warn("tensorboard", "write histograms", exc, run_dir.name)
        try:
            record = read_record(run_dir)
        except Exception as exc:
            for tracker in self.spec.trackers:
                self._warn(tracker, "read the run", exc, run_dir.name)
            return self.warnings
        for tracker in self.spec.trackers:
            try:
                where = _write_one(self.spec, tracker, [record])[-1]
            except Exception as exc:
                self._warn(tracker, f"log run {run_dir.name}", exc, run_dir.name)
                continue
            self.notes.append(written_line(self.spec, tracker, str(where)))
        return self.warnings


def written_line(spec: TrackingSpec, tracker: str, where: str) -> str:
    """Where a tracker wrote a run, and how to look at it there."""
    if tracker == "mlflow":
        uri = spec.mlflow_uri or ""
        see = (
            f"mlflow ui --backend-store-uri {uri}"
            if uri.startswith(("sqlite:", "file:"))
            else f"{uri}, experiment {spec.experiment}"
        )
        return f"tracked: MLflow run {where} (experiment {spec.experiment}); see it with: {see}"
    return (
        f"tracked: TensorBoard events in {Path(where).parent}; see them with: "
        f"tensorboard --logdir {spec.tensorboard_dir}"
    )


@dataclass
class Tracked:
    """What ``track_runs`` did: per tracker, the runs written (run id -> where: the MLflow
    run id or the TensorBoard folder), and one error line per failure."""

    written: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def track_runs(run_dirs: list[Path], spec: TrackingSpec) -> Tracked:
    """Writes existing runs to ``spec``'s trackers, one at a time (a run that cannot be read
    or written is an error line; the others still go). A run tracked before is replaced."""
    from nnctl.tracking.record import read_record

    out = Tracked()
    for run_dir in run_dirs:
        try:
            record = read_record(run_dir)
        except Exception as exc:
            out.errors.append(f"{run_dir.name}: {_reason(exc) if not _is_nnctl(exc) else exc}")
            continue
        for tracker in spec.trackers:
            try:
                where = _write_one(spec, tracker, [record])[-1]
            except Exception as exc:
                out.errors.append(
                    f"{NAMES[tracker]} ({_where(spec, tracker)}) could not log run "
                    f"{record.run_id}: {_reason(exc)}"
                )
                continue
            out.written.setdefault(tracker, {})[record.run_id] = str(where)
    return out


def _is_nnctl(exc: BaseException) -> bool:
    from nnctl.system import NnctlError

    return isinstance(exc, NnctlError)


def track_group(
    name: str,
    run_dirs: list[Path],
    spec: TrackingSpec,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    artifacts: list[Path] | None = None,
) -> list[str]:
    """Writes a group of runs (a sweep's trials) under one parent named ``name``: in MLflow a
    parent run with the runs nested, in TensorBoard a folder ``name`` holding theirs. Runs
    that cannot be read are left out. Returns the warning lines."""
    from nnctl.tracking.record import read_record

    records, warnings = [], []
    for run_dir in run_dirs:
        try:
            records.append(read_record(run_dir))
        except Exception as exc:
            warnings.append(f"tracking: left out {run_dir.name}: {exc}")
    group = {
        "name": name,
        "params": params or {},
        "metrics": metrics or {},
        "tags": tags or {},
        "artifacts": artifacts or [],
    }
    for tracker in spec.trackers:
        try:
            _write_one(spec, tracker, records, group)
        except Exception as exc:
            warnings.append(
                f"tracking: {NAMES[tracker]} ({_where(spec, tracker)}) could not log sweep "
                f"{name}: {_reason(exc)}"
            )
    return warnings
