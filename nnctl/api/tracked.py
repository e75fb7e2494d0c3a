"""A training logged to its trackers (``track=`` and the config's ``tracking`` key): the
trackers resolved and their extras checked before anything trains, the training's hooks fed
to them, and the ended run written to them; each failure an ``NnctlWarning``, never an error.
The trackers are ``nnctl.tracking``'s, imported only when a run is tracked."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnctl.api.errors import NnctlWarning


def trackers(keys: dict[str, Any] | None, track: list[str] | None, runs_dir: Path) -> Any:
    """The run's ``nnctl.tracking.Tracking`` (None: not tracked); a missing extra raises the
    one-line error before anything trains."""
    if not keys and not track:
        return None
    from nnctl.tracking import Tracking, require_extras, resolve_tracking

    spec = resolve_tracking(keys, track, runs_dir)
    if not spec.on:
        return None
    require_extras(spec)
    return Tracking(spec)


def tracked(start: Callable[..., Any], tracking: Any) -> Callable[..., Any]:
    """``start`` (a training, as ``run_training`` calls it) with the trackers' hooks added."""

    def both(on_start: Any = None, on_iteration: Any = None) -> Any:
        return start(
            on_start=tracking.chained_start(on_start),
            on_iteration=on_iteration,
            on_epoch=tracking.on_epoch,
        )

    return both


def finish(tracking: Any, run_dir: Path) -> list[str]:
    """Writes the ended run in ``run_dir`` to its trackers; each failure is an NnctlWarning.
    Returns the trackers' notes (where the run went)."""
    for line in tracking.finish(run_dir):
        warnings.warn(line, NnctlWarning, stacklevel=3)
    return list(tracking.notes)
