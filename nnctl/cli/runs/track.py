"""``nnctl runs track``: runs that already exist written to MLflow or TensorBoard, from their
run directories (a run whose tracker failed while it trained, or runs from before)."""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunsDirOption,
    _complete_run,
    _find_runs,
    err_console,
    handle_errors,
)

EXAMPLES = """\
nnctl runs track latest --mlflow sqlite:///runs/mlflow/mlflow.db
nnctl runs track 20261126-1015 20261126-1032 --tensorboard runs/tensorboard
nnctl runs track latest --mlflow http://127.0.0.1:5000 --experiment cats
"""


@handle_errors
def runs_track(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.",
            show_default=False,
            autocompletion=_complete_run,
        ),
    ],
    mlflow: Annotated[
        str | None,
        typer.Option(
            "--mlflow",
            metavar="URI",
            help="An MLflow tracking URI: sqlite:///PATH, file:PATH or http(s)://HOST:PORT.",
            show_default=False,
        ),
    ] = None,
    tensorboard: Annotated[
        str | None,
        typer.Option(
            "--tensorboard",
            metavar="DIR",
            help="A TensorBoard log folder (each run writes a folder inside).",
            show_default=False,
        ),
    ] = None,
    experiment: Annotated[
        str,
        typer.Option("--experiment", metavar="NAME", help="The MLflow experiment."),
    ] = "nnctl",
    runs_dir: RunsDirOption = None,
) -> None:
    """Write existing runs to MLflow and/or TensorBoard, as a tracked training would have
    (a run tracked before is replaced). Prints RUN_ID, the tracker and where (the MLflow run
    id, the TensorBoard folder) per line; exit 1 if some run could not be written."""
    from nnctl.runs import default_runs_dir
    from nnctl.system import UsageError
    from nnctl.tracking import require_extras, resolve_tracking, track_runs

    if mlflow is None and tensorboard is None:
        raise UsageError("runs track needs --mlflow URI or --tensorboard DIR (or both)")
    track = [f"mlflow={mlflow}"] * (mlflow is not None) + [f"tensorboard={tensorboard}"] * (
        tensorboard is not None
    )
    spec = resolve_tracking({"experiment": experiment}, track, runs_dir or default_runs_dir())
    require_extras(spec)
    dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    done = track_runs(dirs, spec)
    for tracker, written in done.written.items():
        for run_id, where in written.items():
            print(f"{run_id}\t{tracker}\t{where}", flush=True)
    for line in done.errors:
        err_console().print(f"error: {line}", markup=False, soft_wrap=True)
    if done.errors:
        raise typer.Exit(EXIT_FAILED)
