"""Segments trained again, by ``train``'s own functions, in a temporary runs folder: the first
with ``train_run`` (the run's config at that segment's length), each next one with
``resume_run`` (``length`` for a ``--more``). A segment that the run's history shows
interrupted is stopped the way the resume tests simulate Ctrl-C: a KeyboardInterrupt from the
step callback once its last step is done, which the loop turns into status interrupted and a
checkpoint of that whole step, as a deferred Ctrl-C or SIGTERM would."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from nnctl import runs
from nnctl.commands.train import RunOutcome, resume_run, train_run
from nnctl.config import Config
from nnctl.runs import RunSummary
from nnctl.system import RunError

from .segments import Segment


@dataclass
class Replay:
    """A replay's run directory (in the temporary folder) and its summary."""

    run_dir: Path
    summary: RunSummary
    segments: list[Segment]
    mismatch: str | None = None  # a segment that ended elsewhere than the run's did


class _StopAfter:
    """The step callback that interrupts a segment after its n-th step, remembering that it did:
    a segment interrupted otherwise was interrupted by the user (Ctrl-C, SIGTERM)."""

    def __init__(self, n: int) -> None:
        self.n, self.fired = n, False

    def __call__(self, i: int, cost: float) -> None:
        if i == self.n - 1:  # step n-1 is whole: stop as a deferred Ctrl-C would
            self.fired = True
            raise KeyboardInterrupt


def replay_run(cfg: Config, segments: list[Segment], place: Path) -> Replay:
    """Trains ``segments`` (from ``plan_segments``) of the run whose final config is ``cfg``
    into a new run directory under ``place``. A segment that does not end where the run's did
    (diverged, or stopped early at another step) ends the replay: it is returned with
    ``mismatch`` saying how. Raises KeyboardInterrupt when the user interrupted it."""
    outcome: RunOutcome | None = None
    for seg in segments:
        stop = _StopAfter(seg.stop)
        on = None if seg.natural else stop
        if outcome is None:
            first = dataclasses.replace(cfg, **seg.length)
            outcome = train_run(first, place, on_iteration=on, threads=seg.threads)
        else:
            outcome = resume_run(
                outcome.run_dir,
                on_iteration=on,
                length=seg.length if seg.how == "more" else None,
                threads=seg.threads,
            )
        if outcome.status == "interrupted" and not stop.fired:
            raise KeyboardInterrupt  # the user's, not the replay's: verify stops
        done = outcome.summary.iterations_done
        want = "complete" if seg.natural else "interrupted"
        if done != seg.stop or outcome.status != want:
            why = (
                f"the replay's {seg.how} segment ended {outcome.status} after {done} steps, "
                f"the run's after {seg.stop}"
                + (f" ({outcome.summary.message})" if outcome.summary.message else "")
            )
            return Replay(outcome.run_dir, outcome.summary, segments, why)
    if outcome is None:
        raise RunError("nothing to replay: the run has no steps")
    return Replay(outcome.run_dir, runs.read_summary(outcome.run_dir), segments)
