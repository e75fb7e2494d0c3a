"""A run's history as the trainings that made it: the first ``train``, then each resume (after
an interruption) and each ``--more`` (a finished run trained further), read from the summary's
``resumed`` entries. Each segment ends at the step where the next one started, and trained
with the length the run had then (``extended_from``), on its own BLAS thread count."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nnctl.config import Config
from nnctl.runs import RunSummary
from nnctl.system import RunError
from nnctl.training import total_iterations


@dataclass(frozen=True)
class Segment:
    """One training of the run: from step ``start`` to step ``stop`` (steps done at its end),
    with the config length ``length`` ({'iterations': N} or {'epochs': N}). ``how``: train (the
    first), resume (after an interruption, same length) or more (trained further).
    ``natural``: the segment ends by itself (its length reached, or early stopping), so the
    replay must not interrupt it. ``threads``: the BLAS threads it used (None: not recorded)."""

    start: int
    stop: int
    length: dict[str, int]
    how: str
    threads: int | None
    natural: bool

    def to_json(self) -> dict:
        return {"from": self.start, "to": self.stop, "how": self.how, **self.length}


def _threads(record: dict | None) -> int | None:
    n = (record or {}).get("blas_threads")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None


def _length(value: object, where: str) -> dict[str, int]:
    if (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("iterations", "epochs")
        and isinstance(next(iter(value.values())), int)
    ):
        return dict(value)
    raise RunError(f"{where}: damaged: extended_from is {value!r:.60}, expected {{epochs: N}}")


def plan_segments(cfg: Config, summary: RunSummary, m: int, where: str) -> list[Segment]:
    """The segments of a complete run whose final config is ``cfg`` (config.yaml), trained on
    m examples. A resume recorded by an nnctl older than ``extended_from`` is taken as a resume
    at the same length (right unless it was a ``--more``). Raises RunError for a summary whose
    ``resumed`` steps are not in order."""
    key = "iterations" if cfg.iterations is not None else "epochs"
    resumed = list(summary.resumed or [])
    if not all(isinstance(e, dict) for e in resumed):
        raise RunError(f"{where}: damaged: the summary's resumed entries are not objects")
    lengths = [{key: int(getattr(cfg, key))}]
    for entry in reversed(resumed):
        before = entry.get("extended_from")
        lengths.insert(0, _length(before, where) if before is not None else lengths[0])
    done = int(summary.iterations_done or 0)
    starts = [0] + [entry.get("from_iteration") for entry in resumed]
    stops = starts[1:] + [done]
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in starts) or any(
        a > b for a, b in zip(starts, stops)
    ):
        raise RunError(f"{where}: damaged: the resumed entries' from_iteration are not in order")
    threads = [_threads(summary.threads)] + [_threads(e.get("threads")) for e in resumed]
    out = []
    for i, (start, stop, length) in enumerate(zip(starts, stops, lengths)):
        seg_cfg = dataclasses.replace(cfg, **length)
        full = stop == total_iterations(seg_cfg, m)
        last = i == len(starts) - 1
        how = "train" if i == 0 else ("more" if "extended_from" in resumed[i - 1] else "resume")
        out.append(Segment(start, stop, length, how, threads[i], full or last))
    return out


def truncated(segments: list[Segment], n: int) -> list[Segment]:
    """The segments of the first n steps; the last one then ends at n (interrupted there,
    unless n is where it ends anyway)."""
    out = []
    for seg in segments:
        if seg.start >= n and out:
            break
        if seg.stop > n:
            seg = dataclasses.replace(seg, stop=n, natural=False)
        out.append(seg)
    return out


def with_interruption(segments: list[Segment], step: int) -> list[Segment]:
    """The same segments with one more interruption after ``step`` steps, resumed at the same
    length: what ``--resume-check`` replays. ``step`` must fall strictly inside a segment."""
    out = []
    for seg in segments:
        if seg.start < step < seg.stop:
            out.append(dataclasses.replace(seg, stop=step, natural=False))
            out.append(dataclasses.replace(seg, start=step, how="resume"))
        else:
            out.append(seg)
    return out
