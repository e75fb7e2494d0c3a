"""The segments of a run's history read from its summary: the first training, each resume
(same length) and each --more (the length it had recorded as extended_from), and damaged
records refused in one line."""

from __future__ import annotations

import pytest

from nnctl.commands.verify.segments import plan_segments, truncated, with_interruption
from nnctl.config import resolve
from nnctl.runs import RunSummary
from nnctl.system import RunError

# 10 epochs of 4 batches (m = 64, batch 16): 40 steps
CFG = resolve(
    {
        "dataset": {"synthetic": "moons", "m": 80},
        "layer_dims": [2, 3, 1],
        "activations": {"hidden": "relu", "output": "sigmoid"},
        "epochs": 10,
        "batch_size": 16,
        "learning_rate": 0.1,
    },
    "t.yaml",
)
M = 64


def summary(resumed: list, done: int = 40) -> RunSummary:
    return RunSummary(
        status="complete", iterations_done=done, threads={"blas_threads": 2}, resumed=resumed
    )


def entry(at: int, threads: int = 1, **more: object) -> dict:
    return {"from_iteration": at, "threads": {"blas_threads": threads}, **more}


def test_a_run_interrupted_then_trained_further():
    # trained with epochs 6 (24 steps), interrupted at 9, resumed; then --more 4 epochs
    s = summary([entry(9), entry(24, 3, extended_from={"epochs": 6})])
    segs = plan_segments(CFG, s, M, "r")
    assert [(g.start, g.stop, g.length, g.how, g.threads, g.natural) for g in segs] == [
        (0, 9, {"epochs": 6}, "train", 2, False),
        (9, 24, {"epochs": 6}, "resume", 1, True),
        (24, 40, {"epochs": 10}, "more", 3, True),
    ]
    assert [(g.start, g.stop, g.natural) for g in truncated(segs, 9)] == [(0, 9, False)]
    assert [(g.start, g.stop, g.natural) for g in truncated(segs, 30)] == [
        (0, 9, False),
        (9, 24, True),
        (24, 30, False),
    ]
    split = with_interruption(segs, 30)
    assert [(g.start, g.stop, g.how, g.natural) for g in split[2:]] == [
        (24, 30, "more", False),
        (30, 40, "resume", True),
    ]
    assert split[3].length == {"epochs": 10}


def test_an_untouched_run_is_one_segment_that_ends_by_itself():
    (seg,) = plan_segments(CFG, summary([], done=23), M, "r")  # early stopping at step 23
    assert (seg.start, seg.stop, seg.how, seg.natural) == (0, 23, "train", True)


@pytest.mark.parametrize(
    "resumed, message",
    [
        ([entry(30), entry(20)], "from_iteration are not in order"),
        ([{"from_iteration": "9"}], "from_iteration are not in order"),
        ([entry(9, extended_from={"steps": 3})], "extended_from is {'steps': 3}"),
        (["oops"], "resumed entries are not objects"),
    ],
)
def test_damaged_resume_records_are_one_error(resumed, message):
    with pytest.raises(RunError, match=message):
        plan_segments(CFG, summary(resumed), M, "r")
