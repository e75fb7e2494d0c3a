"""Run directories of estimators: ``save_run`` (placeholder until implemented)."""

from __future__ import annotations

from typing import Any


def save_run(est: Any, runs_dir: Any) -> Any:
    raise NotImplementedError


def from_run(cls: type, run: Any) -> Any:
    raise NotImplementedError
