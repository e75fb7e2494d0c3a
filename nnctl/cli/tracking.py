"""``--track`` on ``train`` and ``sweep run``: the option, and where a tracked run went. The
trackers are resolved and their extras checked by ``nnctl.api.tracked`` before anything
trains; ``nnctl.tracking`` is imported only when a run is tracked."""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli.common import print_notice

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


def print_notes(notes: list[str], quiet: bool) -> None:
    """Where a tracked run went (``Run.finish_tracking``'s notes), unless quiet."""
    if not quiet:
        for line in notes:
            print_notice(line)
