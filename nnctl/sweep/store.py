"""The sweep directory, ``<runs dir>/sweeps/<sweep id>/``: the sweep file as given
(``sweep.yaml``), the Optuna study (``study.json``: the sampler, seed, direction, space and
every trial told to the study with its state, Optuna's values and metric, from which
``nnctl sweep resume`` rebuilds it), and the results table (``results.json``: the sweep's
facts and one row per finished trial). Both are rewritten atomically after each trial.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.sweep.checked import check_record, check_study, read_json
from nnctl.system import RunError

SWEEPS_DIR = "sweeps"
SWEEP_FILE = "sweep.yaml"
STUDY_FILE = "study.json"
RESULTS_FILE = "results.json"


@dataclass
class TrialRow:
    """One finished trial: its run, status (complete, pruned, diverged, failed), sampled
    values by key, the sweep's metric (None when it has none) and how often it was sent."""

    trial: int
    run_id: str | None
    status: str
    params: dict[str, Any]
    value: float | None
    attempts: int = 1
    message: str | None = None


@dataclass
class SweepRecord:
    sweep_id: str
    sweep_file: str  # the file as the user named it, absolute
    config: str  # the base config, absolute
    metric: str
    direction: str  # minimize or maximize
    sampler: str
    n_trials: int
    created: str
    status: str = "running"  # running, complete, interrupted
    next_trial: int = (
        0  # the next trial's number (trials sent but lost to an interruption keep theirs)
    )
    keys: list[str] = field(default_factory=list)  # the swept keys, in the file's order
    trials: list[TrialRow] = field(default_factory=list)

    def best(self) -> TrialRow | None:
        """The complete trial with the best metric (the first of equals)."""
        done = [r for r in self.trials if r.status == "complete" and r.value is not None]
        if not done:
            return None
        sign = 1 if self.direction == "minimize" else -1
        return min(done, key=lambda r: (sign * r.value, r.trial))  # type: ignore[operator]

    def best_so_far(self) -> list[float | None]:
        """Per trial, in the order they finished, the best metric of the complete trials up to
        it: "best so far" as the sweep saw it (None until one is complete)."""
        best: float | None = None
        out: list[float | None] = []
        sign = 1 if self.direction == "minimize" else -1
        for row in self.trials:
            if (
                row.status == "complete"
                and row.value is not None
                and (best is None or sign * row.value < sign * best)
            ):
                best = row.value
            out.append(best)
        return out

    def status_counts(self) -> dict[str, int]:
        """Trials by status, the statuses in the order they first finished."""
        counts: dict[str, int] = {}
        for t in self.trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        return counts

    def retried(self) -> list[int]:
        """The trials sent again after their worker died."""
        return [t.trial for t in self.trials if t.attempts > 1]

    def any_failed(self) -> bool:
        """Whether some trial failed or diverged."""
        return any(t.status in ("failed", "diverged") for t in self.trials)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["trials"] = [asdict(r) for r in self.trials]
        return d

    @classmethod
    def from_json(cls, obj: Any, where: Path) -> SweepRecord:
        try:
            rows = [TrialRow(**r) for r in obj.pop("trials")]
            return cls(**obj, trials=rows)
        except (TypeError, KeyError, AttributeError) as exc:
            raise RunError(f"{where}: damaged sweep results ({exc})") from None


def sweeps_dir(runs_dir: Path) -> Path:
    return runs_dir / SWEEPS_DIR


def new_sweep_id(stem: str, runs_dir: Path) -> tuple[str, Path]:
    """``<sweep file stem>-YYYYMMDD-HHMMSS`` (a suffix when taken), created exclusively."""
    return new_stamped_dir(stem, sweeps_dir(runs_dir), "sweeps directory", "sweep id")


def new_stamped_dir(stem: str, base: Path, folder: str, kind: str) -> tuple[str, Path]:
    """A new folder ``base/<stem>-YYYYMMDD-HHMMSS`` (a suffix when taken), created exclusively;
    ``folder`` and ``kind`` name ``base`` and the id in the errors."""
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{base}: cannot create the {folder}: {exc.strerror}") from None
    stamp = f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    for i in range(100):
        name = stamp if i == 0 else f"{stamp}-{i}"
        try:
            (base / name).mkdir()
            return name, base / name
        except FileExistsError:
            continue
    raise RunError(f"{base}: could not find a free {kind}")


def find_sweep(spec: str, runs_dir: Path) -> Path:
    """A sweep directory by path, id, unique id prefix or 'latest'. Raises RunError."""
    p = Path(spec)
    if (p / RESULTS_FILE).exists():  # even if damaged: reading it names the damage
        return p
    base = sweeps_dir(runs_dir)
    found = (
        sorted(
            (d for d in base.iterdir() if (d / RESULTS_FILE).is_file()),
            key=lambda d: os.stat(d / SWEEP_FILE).st_mtime if (d / SWEEP_FILE).exists() else 0,
        )
        if base.is_dir()
        else []
    )
    picked, prefixed = runs.pick_by_name(found, spec)
    if picked is not None:
        return picked
    if spec == "latest":
        raise RunError(f"no sweeps in {base}")
    if prefixed:
        raise RunError(f"sweep {spec!r} is ambiguous: {', '.join(d.name for d in prefixed)}")
    raise RunError(
        f"no sweep {spec!r} in {base} (give a sweep directory, an id, a prefix or 'latest')"
    )


def read_record(sweep_dir: Path) -> SweepRecord:
    """The sweep's results. Raises RunError, in one line, for a file damaged in any way."""
    path = sweep_dir / RESULTS_FILE
    try:
        obj = read_json(path, "sweep results")
    except FileNotFoundError:
        raise RunError(f"{sweep_dir}: not a sweep directory (no {RESULTS_FILE})") from None
    check_record(obj, path)
    return SweepRecord.from_json(obj, path)


def write_record(sweep_dir: Path, record: SweepRecord) -> None:
    runs.write_json(sweep_dir / RESULTS_FILE, record.to_json())


def save_sweep_text(sweep_dir: Path, text: str) -> None:
    runs.write_text(sweep_dir / SWEEP_FILE, text)


def write_study(sweep_dir: Path, study: dict[str, Any]) -> None:
    runs.write_json(sweep_dir / STUDY_FILE, study)


def read_study(sweep_dir: Path) -> dict[str, Any]:
    """The sweep's study (``trials``: the trials told). Raises RunError, in one line, for a file
    damaged in any way."""
    path = sweep_dir / STUDY_FILE
    try:
        obj = read_json(path, "study")
    except FileNotFoundError:
        raise RunError(f"{path}: cannot read the study: no such file") from None
    check_study(obj, path)
    return obj


def test_scores(runs_dir: Path, run_id: str) -> dict[str, float]:
    """A trial run's test scores (its summary's test_* keys): the sweep chose on validation
    data, so they are reported for the chosen run only. Empty when the run was removed since
    (runs rm): the sweep's table still stands."""
    try:
        s = runs.read_summary(runs_dir / run_id)
    except RunError:
        return {}
    return {k: v for k, v in s.scores.items() if k.startswith("test_") and v is not None}


def discard_if_unstarted(sweep_dir: Path) -> bool:
    """Removes a sweep directory that no trial has reached (e.g. its cluster could not be
    reached), so bad input leaves nothing behind. Returns whether it was removed."""
    import shutil

    try:
        record = read_record(sweep_dir)
    except RunError:
        return False
    if record.trials or record.next_trial:
        return False
    shutil.rmtree(sweep_dir, ignore_errors=True)
    return True
