"""What ``verify`` compares: arrays (parameters, costs, checkpoint states) bit for bit or within
a tolerance, and the environments two trainings recorded.

The relative difference of an array is max|run - replay| / max|run|: scaled by the array's largest
magnitude, not element by element, so that an element near zero (a bias that rounding moves
from 1e-17 to 2e-17) does not read as a 100% difference. One ulp on one element reads as at
most 2.2e-16 (float64).

The tolerance, when the environments differ: a different BLAS kernel, thread split, numpy or
SIMD target rounds the same arithmetic differently, so two trainings take the same steps with
different last bits, which grow with the steps; a real change to the training moves the
parameters by far more in float64. ``tolerance`` is the square root of the dtype's machine
epsilon, between the two (measured: docs/developers/verify.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.runs import RunSummary


def tolerance(dtype: str) -> float:
    """The relative tolerance used when environments differ: sqrt(eps) of ``dtype``."""
    return float(np.sqrt(np.finfo(np.dtype(dtype)).eps))


@dataclass(frozen=True)
class ArrayDiff:
    """One array of the run against the replay's: ``equal`` bit for bit; ``rel_diff``
    max|run - replay| / max|run| (inf when shapes or dtypes differ, or one has NaN where the
    other has not); ``differing``: elements not bit-equal."""

    name: str
    equal: bool
    rel_diff: float
    differing: int
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "equal": self.equal,
            "relative_difference": self.rel_diff if np.isfinite(self.rel_diff) else None,
            "differing": self.differing,
            "size": self.size,
        }


def diff_array(name: str, run: np.ndarray, replay: np.ndarray) -> ArrayDiff:
    """``run`` (what the run recorded) against ``replay``."""
    if run.shape != replay.shape or run.dtype != replay.dtype:
        return ArrayDiff(name, False, float("inf"), int(max(run.size, replay.size)), int(run.size))
    # bits, so that -0.0 against 0.0 or one NaN payload against another is a difference too
    differing = 0
    if run.size:
        a = np.ascontiguousarray(run.reshape(-1)).view(np.uint8).reshape(run.size, -1)
        b = np.ascontiguousarray(replay.reshape(-1)).view(np.uint8).reshape(run.size, -1)
        differing = int(np.any(a != b, axis=1).sum())
    if differing == 0:
        return ArrayDiff(name, True, 0.0, 0, int(run.size))
    if run.dtype.kind not in "fc":
        return ArrayDiff(name, False, float("inf"), differing, int(run.size))
    x, y = run.astype(np.float64), replay.astype(np.float64)
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        return ArrayDiff(name, False, float("inf"), differing, int(run.size))
    ok = ~np.isnan(x)
    scale = float(np.max(np.abs(x[ok]), initial=0.0))
    worst = float(np.max(np.abs(x[ok] - y[ok]), initial=0.0))
    rel = worst / scale if scale > 0 else (0.0 if worst == 0 else float("inf"))
    return ArrayDiff(name, False, rel, differing, int(run.size))


def compare_arrays(run: dict[str, np.ndarray], replay: dict[str, np.ndarray]) -> list[ArrayDiff]:
    """Every array of either side, in the run's order (one missing from a side: inf)."""
    out = []
    for name in [*run, *(k for k in replay if k not in run)]:
        if name not in run or name not in replay:
            out.append(ArrayDiff(name, False, float("inf"), 0, 0))
        else:
            out.append(diff_array(name, run[name], replay[name]))
    return out


@dataclass(frozen=True)
class EnvDiff:
    """A recorded environment field whose value differs between the run and the replay."""

    field: str
    recorded: Any
    now: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "recorded": self.recorded, "now": self.now}


def _blas(libs: Any) -> Any:
    # num_threads is the pool's size when recorded, not what training used (that is `threads`)
    if not isinstance(libs, list):
        return libs
    return [
        {k: v for k, v in lib.items() if k != "num_threads"} if isinstance(lib, dict) else lib
        for lib in libs
    ]


def _threads(record: Any) -> Any:
    return record.get("blas_threads") if isinstance(record, dict) else record


def environment(summary: RunSummary, segments: int) -> dict[str, Any]:
    """The fields of a summary that decide a training's last bits: nnctl and numpy versions,
    then per segment (the first training, each resume) its BLAS libraries (library, version,
    kernel), CPU, numpy's SIMD targets on it and BLAS threads."""
    env: dict[str, Any] = {
        "nnctl_version": summary.nnctl_version,
        "numpy_version": summary.numpy_version,
        "blas": _blas(summary.blas),
        "cpu": summary.cpu,
        "cpu_features": summary.cpu_features,
        "threads": _threads(summary.threads),
    }
    for i, entry in enumerate((summary.resumed or [])[: segments - 1], start=1):
        entry = entry if isinstance(entry, dict) else {}
        env[f"resumed[{i}].blas"] = _blas(entry.get("blas"))
        env[f"resumed[{i}].cpu"] = entry.get("cpu")
        env[f"resumed[{i}].cpu_features"] = entry.get("cpu_features")
        env[f"resumed[{i}].threads"] = _threads(entry.get("threads"))
    return env


def environment_diffs(run: RunSummary, replay: RunSummary, segments: int) -> list[EnvDiff]:
    """The environment fields (``environment``) of the first ``segments`` trainings that the
    run recorded differently from the replay (a field the run did not record counts as
    different: nothing says it was the same)."""
    a, b = environment(run, segments), environment(replay, segments)
    return [EnvDiff(k, a[k], b.get(k)) for k in a if a[k] is None or a[k] != b.get(k)]
