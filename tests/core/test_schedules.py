"""The learning-rate schedules (nnctl/core/schedules.py): every table entry against its formula
written out by hand (the course's as its notebook writes them), lr_decay as the inverse_time
entry bit for bit, and the schedule as a config resolves it."""

from __future__ import annotations

import math

import pytest

from nnctl.config import resolve
from nnctl.core import LR_SCHEDULES, learning_rate

LR0 = 0.2
EPOCHS = range(12)

# name -> (its settings, the rate of epoch e by hand)
CASES = {
    "inverse_time": (
        {"decay_rate": 0.5, "time_interval": 1},
        lambda e: 1 / (1 + 0.5 * e) * LR0,  # the course's update_lr
    ),
    "exponential": ({"gamma": 0.95}, lambda e: 0.95**e * LR0),
    "inverse_sqrt": ({"k": 2.0}, lambda e: 2.0 / math.sqrt(e + 1) * LR0),
    "step": ({"step_size": 4, "gamma": 0.5}, lambda e: LR0 * 0.5 ** (e // 4)),
    "cosine": (
        {"warmup_epochs": 3, "min_lr": 0.01, "decay_epochs": 10},
        lambda e: (
            LR0 * (e + 1) / 3
            if e < 3
            else 0.01 + (LR0 - 0.01) * (1 + math.cos(math.pi * min(e - 3, 7) / 7)) / 2
        ),
    ),
}


def test_every_schedule_has_a_case_here() -> None:
    assert set(CASES) == set(LR_SCHEDULES)
    for name, (settings, _) in CASES.items():
        assert set(settings) == set(LR_SCHEDULES[name].settings)


@pytest.mark.parametrize("name", list(CASES))
def test_each_schedule_follows_its_formula(name: str) -> None:
    settings, by_hand = CASES[name]
    got = [learning_rate(LR0, {"name": name, **settings}, e) for e in EPOCHS]
    assert got == pytest.approx([by_hand(e) for e in EPOCHS], rel=1e-15)


def test_the_course_schedule_lr_decay_and_its_fixed_interval() -> None:
    # the course's schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000)
    s = {"name": "inverse_time", "decay_rate": 1.0, "time_interval": 1000}
    assert [learning_rate(0.1, s, e) for e in (0, 999, 1000, 1999, 2000)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.1 / 3], rel=1e-15
    )


def test_cosine_warms_up_linearly_then_ends_at_min_lr_and_stays_there() -> None:
    s = {"name": "cosine", "warmup_epochs": 4, "min_lr": 0.0, "decay_epochs": 8}
    rates = [learning_rate(1.0, s, e) for e in range(12)]
    assert rates[:5] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert rates[6] == pytest.approx(0.5) and rates[5] > rates[6] > rates[7]
    assert rates[8:] == [0.0] * 4  # past the horizon (trained further with --more): min_lr


def test_delay_starts_any_schedule_late_as_the_courses_model_does() -> None:
    # the notebook: epoch i trains at the rate its decay gave after epoch i - 1
    s = {"name": "inverse_time", "decay_rate": 1.0, "time_interval": 1000, "delay": 1}
    assert [learning_rate(0.1, s, e) for e in (0, 1, 1000, 1001, 2001)] == [
        0.1,
        0.1,
        0.1,
        0.05,
        0.1 / 3,
    ]
    step = {"name": "step", "step_size": 1, "gamma": 0.5, "delay": 2}
    assert [learning_rate(1.0, step, e) for e in range(5)] == [1.0, 1.0, 1.0, 0.5, 0.25]


def test_no_schedule_is_the_constant_rate() -> None:
    assert learning_rate(0.3, None, 99) == 0.3


BASE = {
    "dataset": "moons",
    "layer_dims": [2, 3, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.1,
}


def test_lr_decay_is_the_inverse_time_schedule_bit_for_bit() -> None:
    old = resolve({**BASE, "iterations": 30, "lr_decay": {"rate": 0.7, "interval": 3}}, "t")
    new = resolve(
        {
            **BASE,
            "iterations": 30,
            "lr_schedule": {"name": "inverse_time", "decay_rate": 0.7, "time_interval": 3},
        },
        "t",
    )
    assert old.lr_decay == {"rate": 0.7, "interval": 3} and old.lr_schedule is None  # kept
    assert old.schedule == new.schedule == new.lr_schedule
    for e in range(30):  # lr_decay's own expression, as before lr_schedule existed
        expected = 0.1 / (1 + 0.7 * (e // 3))
        assert learning_rate(0.1, old.schedule, e) == expected


def test_a_name_alone_takes_the_defaults_and_cosine_pins_the_run_length() -> None:
    cfg = resolve({**BASE, "epochs": 40, "batch_size": 8, "lr_schedule": "cosine"}, "t")
    assert cfg.lr_schedule == {
        "name": "cosine",
        "warmup_epochs": 0,
        "min_lr": 0.0,
        "decay_epochs": 40,
        "delay": 0,
    }
    full = resolve({**BASE, "iterations": 25, "lr_schedule": "cosine"}, "t")
    assert full.lr_schedule["decay_epochs"] == 25  # full batch: an epoch per iteration
    # iterations with mini-batches: the data tells the epochs (bind pins it)
    later = resolve({**BASE, "iterations": 25, "batch_size": 8, "lr_schedule": "cosine"}, "t")
    assert later.lr_schedule["decay_epochs"] is None
    assert later.with_run_length(30).lr_schedule["decay_epochs"] == 7  # 4 batches an epoch
    assert resolve({**BASE, "iterations": 3, "lr_schedule": "exponential"}, "t").lr_schedule == {
        "name": "exponential",
        "gamma": 0.95,
        "delay": 0,
    }
