"""``verify_run``: a run's data checked against its recorded hashes, the run replayed (and, with
``resume_check``, replayed again with one more interruption), and the results compared: bit for
bit when the replay's recorded environment equals the run's, else within ``tolerance``."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.config import Config
from nnctl.runs import RunSummary
from nnctl.system import STREAM_VERIFY, OptionError, RunError, rng_for, sha256_cached
from nnctl.training import batch_count, fast_path_applies

from .compare import ArrayDiff, EnvDiff, compare_arrays, environment_diffs, tolerance
from .replay import Replay, replay_run
from .segments import Segment, plan_segments, truncated, with_interruption


@dataclass
class ResumeCheck:
    """The replay interrupted after ``step`` steps and resumed, against the uninterrupted
    replay: always bit for bit (two trainings in one process on one machine)."""

    step: int
    arrays: list[ArrayDiff]
    mismatch: str | None = None
    # the full-batch fast path trained the interrupted segment: its resume continues on the
    # direct loop, the same to rounding only (nnctl.training.fullbatch), so within this
    rtol: float | None = None

    def passes(self, d: ArrayDiff) -> bool:
        return d.equal or (self.rtol is not None and d.rel_diff <= self.rtol)

    @property
    def same(self) -> bool:
        return self.mismatch is None and all(self.passes(d) for d in self.arrays)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "same": self.same,
            "mismatch": self.mismatch,
            "fast_path": self.rtol is not None,
            "rtol": self.rtol,
            "arrays": [{**d.to_json(), "passes": self.passes(d)} for d in self.arrays],
        }


@dataclass
class Verification:
    """The verdict on one run. ``exact``: environments equal, arrays compared bit for bit;
    else within ``rtol`` (relative, see ``compare``). ``arrays``: what was compared (costs,
    validation losses, parameters, the final checkpoint's state); ``not_compared``: what could
    not be, and why."""

    run_id: str
    run_dir: Path
    iterations: int  # steps verified
    of: int  # steps the run made
    exact: bool
    rtol: float | None
    environment: list[EnvDiff]
    segments: list[Segment]
    arrays: list[ArrayDiff]
    not_compared: list[str] = field(default_factory=list)
    mismatch: str | None = None
    resume_check: ResumeCheck | None = None

    def passes(self, d: ArrayDiff) -> bool:
        return d.equal or (not self.exact and self.rtol is not None and d.rel_diff <= self.rtol)

    @property
    def same(self) -> bool:
        return (
            self.mismatch is None
            and all(self.passes(d) for d in self.arrays)
            and (self.resume_check is None or self.resume_check.same)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "same": self.same,
            "exact": self.exact,
            "rtol": self.rtol,
            "iterations": self.iterations,
            "of": self.of,
            "environment_differs": [e.to_json() for e in self.environment],
            "segments": [s.to_json() for s in self.segments],
            "arrays": [{**d.to_json(), "passes": self.passes(d)} for d in self.arrays],
            "not_compared": self.not_compared,
            "mismatch": self.mismatch,
            "resume_check": None if self.resume_check is None else self.resume_check.to_json(),
        }


def check_data(run_dir: Path, summary: RunSummary) -> None:
    """Every data file the run recorded a SHA-256 of still has it. Raises RunError naming the
    first file that is missing or changed (a folder of images is checked after the replay)."""
    for src in summary.sources:
        path, digest = src.get("path"), src.get("sha256")
        if not isinstance(path, str) or not isinstance(digest, str):
            continue
        p = Path(path)
        if p.is_dir():
            continue
        if not p.is_file():
            raise RunError(f"{path}: missing; run {summary.run_id} trained on it")
        now = sha256_cached(p)[0]
        if now != digest:
            raise RunError(
                f"{path}: changed since run {summary.run_id} trained on it (sha256 "
                f"{digest[:12]}..., now {now[:12]}...); a replay would not reproduce it"
            )


def _same_sources(summary: RunSummary, replay: RunSummary) -> None:
    def identity(src: dict) -> dict:
        return {k: v for k, v in src.items() if k != "sha256_cached"}

    for a, b in zip(summary.sources, replay.sources):
        if identity(a) != identity(b):
            what = a.get("path") or (
                f"synthetic {a['synthetic']} data" if "synthetic" in a else a.get("role")
            )
            raise RunError(
                f"{what}: the data differs from what run {summary.run_id} trained on "
                "(file contents or generator settings)"
            )
    if len(summary.sources) != len(replay.sources):
        raise RunError(f"run {summary.run_id}: its config now reads other data files")


def resume_step(seed: int, n: int, boundaries: set[int]) -> int:
    """The step ``--resume-check`` interrupts at: drawn from the run's seed (its own stream),
    in 1..n-1, not where the run already stopped and resumed. Raises OptionError when there is
    none."""
    taken = sorted(b for b in boundaries if 1 <= b < n)
    free = n - 1 - len(taken)
    if free <= 0:
        raise OptionError(
            "resume_check", f"needs a step to interrupt at: the replay has {n} step(s), none free"
        )
    step = int(rng_for(seed, STREAM_VERIFY).integers(free)) + 1  # the step-th free one
    for b in taken:
        if b <= step:
            step += 1
    return step


def _params(run_dir: Path, layer_dims: list[int]) -> dict[str, np.ndarray]:
    return runs.read_params(run_dir / runs.PARAMS_FILE, layer_dims)


def _checkpoint(run_dir: Path, cfg: Config, m: int) -> dict[str, np.ndarray]:
    """A checkpoint's arrays as the loader reads and the writer writes them (``meta``: the
    positions and the generators' states, as JSON text)."""
    from nnctl.runs.checkpoint import checkpoint_bytes

    state = runs.load_checkpoint(run_dir, cfg, m)
    with np.load(io.BytesIO(checkpoint_bytes(state)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _history(run_dir: Path, n: int, per_epoch: int) -> dict[str, np.ndarray]:
    """history.csv's costs of the first n steps and, with a validation set, the validation
    losses of the epochs those steps complete (``per_epoch``: steps an epoch)."""
    h = runs.read_history_table(run_dir)
    out = {"costs": h.costs[:n]}
    if len(h.val_loss):
        out["val_loss"] = h.val_loss[: n // per_epoch]
    return out


def verify_run(
    run_dir: Path,
    *,
    iterations: int | None = None,
    resume_check: bool = False,
    rtol: float | None = None,
) -> Verification:
    """Replays the complete run in ``run_dir`` in a temporary folder (never touching the run)
    and compares it with what the run recorded. ``iterations``: verify only the first N
    steps (their costs and validation losses; the parameters after N steps are compared only
    where the run recorded them). ``resume_check``: also replay with an interruption at a step
    drawn from the run's seed, resumed from its checkpoint, and require the same bits as the
    uninterrupted replay. ``rtol``: the tolerance when the environments differ (default
    ``tolerance(dtype)``). Raises RunError (not a complete run, changed or missing data),
    ConfigError, DataError or OptionError (``iterations`` out of range)."""
    summary = runs.read_summary(run_dir)
    if summary.status != "complete":
        hint = (
            " (resume it first: nnctl train --resume RUN)"
            if summary.status == "interrupted"
            else ""
        )
        raise RunError(
            f"{run_dir}: the run is {summary.status or 'unfinished'}; verify replays complete "
            f"runs{hint}"
        )
    cfg = runs.load_run_config(run_dir, summary)
    m, done = summary.dataset.get("n_train"), summary.iterations_done
    if not isinstance(m, int) or not isinstance(done, int) or done < 1:
        raise RunError(f"{run_dir}: damaged: its summary has no n_train or iterations_done")
    n = done if iterations is None else iterations
    if not 1 <= n <= done:
        raise OptionError("iterations", f"{n}: the run made {done} steps; give 1 to {done}")
    if rtol is not None and not (rtol >= 0 and np.isfinite(rtol)):
        raise OptionError("rtol", f"{rtol}: give a relative tolerance >= 0")
    check_data(run_dir, summary)
    segments = plan_segments(cfg, summary, m, str(run_dir))
    if n < done:
        segments = truncated(segments, n)
    step = None
    if resume_check:
        step = resume_step(cfg.seed, n, {s.start for s in segments})
    with tempfile.TemporaryDirectory(prefix="nnctl-verify-") as tmp:
        replay = replay_run(cfg, segments, Path(tmp) / "replay")
        _same_sources(summary, replay.summary)
        env = environment_diffs(summary, replay.summary, len(segments))
        exact = not env
        result = Verification(
            str(summary.run_id),
            run_dir,
            n,
            done,
            exact,
            None if exact else (rtol if rtol is not None else tolerance(cfg.dtype)),
            env,
            segments,
            [],
            mismatch=replay.mismatch,
        )
        if replay.mismatch is None:
            result.arrays, result.not_compared = _compare(run_dir, replay, cfg, m, n, done)
        if step is not None and replay.mismatch is None:
            again = replay_run(cfg, with_interruption(segments, step), Path(tmp) / "resumed")
            result.resume_check = ResumeCheck(
                step,
                [] if again.mismatch else _compare_replays(replay, again, cfg, m, n == done),
                again.mismatch,
                tolerance(cfg.dtype) if _fast_path(cfg, summary, segments[0], step) else None,
            )
    return result


def _fast_path(cfg: Config, summary: RunSummary, first: Segment, step: int) -> bool:
    """Whether ``train`` trained the first segment on the full-batch fast path (``fit``'s
    choice: no validation set, and the factored loop saves work) and ``step`` interrupts it."""
    if step >= first.stop or summary.dataset.get("n_val") or cfg.validation_fraction > 0:
        return False
    n_x, m = summary.dataset.get("n_features"), summary.dataset.get("n_train")
    if not isinstance(n_x, int) or not isinstance(m, int):
        return False
    # the choice reads only X's shape: a broadcast array of it holds nothing
    X = np.broadcast_to(np.zeros((), dtype=cfg.float_type), (n_x, m))
    return fast_path_applies(dataclasses.replace(cfg, **first.length), X)


def _compare(
    run_dir: Path, replay: Replay, cfg: Config, m: int, n: int, done: int
) -> tuple[list[ArrayDiff], list[str]]:
    per_epoch = batch_count(cfg, m)
    run_h, rep_h = _history(run_dir, n, per_epoch), _history(replay.run_dir, n, per_epoch)
    arrays = compare_arrays(run_h, rep_h)
    not_compared = []
    if n == done:
        arrays += compare_arrays(
            _params(run_dir, list(cfg.layer_dims)), _params(replay.run_dir, list(cfg.layer_dims))
        )
    else:
        not_compared.append(
            f"the parameters after step {n}: the run recorded only its final ones (step {done})"
        )
    run_ck = runs.has_checkpoint(run_dir)
    if run_ck and n == done and runs.has_checkpoint(replay.run_dir):
        arrays += _prefixed(
            "checkpoint.",
            compare_arrays(_checkpoint(run_dir, cfg, m), _checkpoint(replay.run_dir, cfg, m)),
        )
    elif run_ck and n < done:
        not_compared.append(f"the run's checkpoint: it holds step {done}, not step {n}")
    elif run_ck:
        not_compared.append("the run's checkpoint: the replay's training keeps none")
    return arrays, not_compared


def _compare_replays(a: Replay, b: Replay, cfg: Config, m: int, whole: bool) -> list[ArrayDiff]:
    per_epoch, every = batch_count(cfg, m), 1 << 62
    arrays = compare_arrays(
        _history(a.run_dir, every, per_epoch), _history(b.run_dir, every, per_epoch)
    )
    if whole:
        dims = list(cfg.layer_dims)
        arrays += compare_arrays(_params(a.run_dir, dims), _params(b.run_dir, dims))
    if runs.has_checkpoint(a.run_dir) and runs.has_checkpoint(b.run_dir):
        arrays += _prefixed(
            "checkpoint.",
            compare_arrays(_checkpoint(a.run_dir, cfg, m), _checkpoint(b.run_dir, cfg, m)),
        )
    return arrays


def _prefixed(prefix: str, diffs: list[ArrayDiff]) -> list[ArrayDiff]:
    return [ArrayDiff(prefix + d.name, d.equal, d.rel_diff, d.differing, d.size) for d in diffs]
