"""``--track`` on ``train`` and ``sweep run``: the option, the trackers resolved and their
extras checked before anything trains, and their warnings printed when the run has ended.
The trackers themselves are ``nnctl.tracking``'s, imported only when a run is tracked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import print_notice, print_warning

TrackOption = Annotated[
    list[str] | None,
    typer.Option(
        "--track",
        metavar="TRACKER[=WHERE]",
        help="Also log the run to mlflow (a sqlite store in the runs folder, or mlflow=URI: "
        "sqlite:///..., file:..., http://...) or tensorboard (RUNS/tensorboard, or "
        "tensorboard=DIR); repeat for both. Adds to the config's tracking key.",
        show_default=False,
    ),
]


def tracking_for(tracking: dict[str, Any] | None, track: list[str] | None, runs_dir: Path) -> Any:
    """The ``Tracking`` of a run (None: not tracked), its extras checked: a missing one is
    one error line and exit 2, before anything trains."""
    if not tracking and not track:
        return None
    from nnctl.tracking import Tracking, require_extras, resolve_tracking

    spec = resolve_tracking(tracking, track, runs_dir)
    if not spec.on:
        return None
    require_extras(spec)
    return Tracking(spec)


def print_notes(notes: list[str], quiet: bool) -> None:
    """Where a tracked run went (``Run.finish_tracking``'s notes), unless quiet."""
    if not quiet:
        for line in notes:
            print_notice(line)


def finish_tracking(tracking: Any, run_dir: Path, quiet: bool) -> None:
    """Writes the ended run to its trackers: where it went (unless quiet), each failure one
    warning line (the run itself is saved; the exit status stays the training's)."""
    for line in tracking.finish(run_dir):
        print_warning(line)
    if not quiet:
        for line in tracking.notes:
            print_notice(line)
