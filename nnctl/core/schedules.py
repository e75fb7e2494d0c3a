"""Learning-rate schedules as a table keyed by the names configs use (``lr_schedule: {name:
NAME, ...}``).

Each entry is a ``Schedule``: ``rate(lr0, epoch, settings)`` gives the learning rate of an epoch
(counted from 0, as the loop counts them; full batch: every iteration is an epoch) from the
configured ``learning_rate`` lr0 and the schedule's settings, whose defaults and checks are its
``SETTINGS``. The first four are the course's formulas ("Learning rate decay", and the
optimization notebook's ``update_lr`` / ``schedule_lr_decay``); ``step`` and ``cosine`` (with a
linear warm-up) are what users of the big frameworks expect. A new schedule is one entry here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnctl.system import (
    Invalid,
    non_negative_number,
    number,
    positive_int,
    positive_number,
)


@dataclass(frozen=True)
class Setting:
    """One setting of a schedule: its default, its check of a configured value, what it is,
    and whether a config must give it. A default of None that is not required is filled from
    the run (cosine's ``decay_epochs``: the run's length in epochs)."""

    default: Any
    check: Callable[[Any], Any]
    doc: str
    required: bool = False


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: ``rate(lr0, epoch, settings) -> lr``, its settings, and its
    formula in words (the config reference and the guide show it)."""

    rate: Callable[[float, int, dict[str, Any]], float]
    settings: dict[str, Setting]
    formula: str


def decay_factor(value: Any) -> float:
    """A factor a rate is multiplied by per epoch or step: in (0, 1]."""
    v = float(number(value))
    if not 0 < v <= 1:
        raise Invalid(f"must be in (0, 1], got {v}")
    return v


def non_negative_int(value: Any) -> int:
    """A count that may be 0."""
    v = number(value)
    if isinstance(v, float) and not v.is_integer():
        raise Invalid(f"expected a whole number, got {v}")
    if v < 0:
        raise Invalid(f"must be a whole number >= 0, got {v}")
    return int(v)


def _inverse_time(lr0: float, epoch: int, s: dict[str, Any]) -> float:
    # lr_decay's expression, so its configs keep their bits (the course writes
    # 1 / (1 + r e) * lr0, the same number up to the last bit)
    return lr0 / (1 + s["decay_rate"] * (epoch // s["time_interval"]))


def _exponential(lr0: float, epoch: int, s: dict[str, Any]) -> float:
    return s["gamma"] ** epoch * lr0  # the course's 0.95**epoch_num * learning_rate0


def _inverse_sqrt(lr0: float, epoch: int, s: dict[str, Any]) -> float:
    # the course's k / sqrt(epoch_num) * lr0 with its epoch_num counted from 1
    return s["k"] / math.sqrt(epoch + 1) * lr0


def _step(lr0: float, epoch: int, s: dict[str, Any]) -> float:
    return lr0 * s["gamma"] ** (epoch // s["step_size"])


def _cosine(lr0: float, epoch: int, s: dict[str, Any]) -> float:
    warm, horizon, low = s["warmup_epochs"], s["decay_epochs"], s["min_lr"]
    if epoch < warm:
        return lr0 * (epoch + 1) / warm
    # past the horizon (a run trained further with --more) the rate stays at min_lr
    t = min(epoch - warm, horizon - warm) / (horizon - warm)
    return low + (lr0 - low) * (1 + math.cos(math.pi * t)) / 2


LR_SCHEDULES: dict[str, Schedule] = {
    "inverse_time": Schedule(
        _inverse_time,
        {
            "decay_rate": Setting(1.0, non_negative_number, "r, the decay rate"),
            "time_interval": Setting(1, positive_int, "n, epochs between decays"),
        },
        "lr0 / (1 + r floor(epoch / n)): the course's update_lr (n = 1) and "
        "schedule_lr_decay; lr_decay: {rate, interval} is this schedule",
    ),
    "exponential": Schedule(
        _exponential,
        {"gamma": Setting(0.95, decay_factor, "the factor per epoch")},
        "gamma^epoch lr0 (the course's 0.95^epoch lr0 at its default)",
    ),
    "inverse_sqrt": Schedule(
        _inverse_sqrt,
        {"k": Setting(1.0, positive_number, "the scale k")},
        "k / sqrt(epoch + 1) lr0 (the course's k / sqrt(epoch_num) lr0, epoch_num from 1)",
    ),
    "step": Schedule(
        _step,
        {
            "step_size": Setting(None, positive_int, "epochs between drops", required=True),
            "gamma": Setting(0.1, decay_factor, "the factor of each drop"),
        },
        "lr0 gamma^floor(epoch / step_size)",
    ),
    "cosine": Schedule(
        _cosine,
        {
            "warmup_epochs": Setting(0, non_negative_int, "w, epochs of linear warm-up"),
            "min_lr": Setting(0.0, non_negative_number, "the rate at the end"),
            "decay_epochs": Setting(
                None, positive_int, "D, the epochs the rate takes to reach min_lr (the run's)"
            ),
        },
        "lr0 (epoch + 1) / w while epoch < w, then min_lr + (lr0 - min_lr) "
        "(1 + cos(pi min(epoch - w, D - w) / (D - w))) / 2",
    ),
}


COMMON_SETTINGS: dict[str, Setting] = {
    "delay": Setting(
        0,
        non_negative_int,
        "epochs the schedule starts late, lr0 until then (the second course's model decays "
        "after each epoch: 1)",
    ),
}
"""Settings every schedule takes, after its own."""


def settings_of(name: str) -> dict[str, Setting]:
    """The settings schedule ``name`` takes: its own, then ``COMMON_SETTINGS``."""
    return {**LR_SCHEDULES[name].settings, **COMMON_SETTINGS}


def learning_rate(lr0: float, schedule: dict[str, Any] | None, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 0) under ``schedule`` ({name, settings...}, as the
    config resolves it; None: lr0 throughout). With ``delay`` d the schedule's epoch e - d
    (lr0 before d): the second course's model sets epoch i's rate from i - 1."""
    if schedule is None:
        return lr0
    delay = schedule.get("delay", 0)
    if epoch < delay:
        return lr0
    return LR_SCHEDULES[schedule["name"]].rate(lr0, epoch - delay, schedule)
