"""``nnctl plot``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import RunsDirOption, _find_runs, fail, handle_errors


@handle_errors
def plot(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Image file to write (.png, .pdf or .svg).",
            show_default=False,
        ),
    ],
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN...",
            help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.",
            show_default=False,
        ),
    ] = None,
    log: Annotated[bool, typer.Option("--log", help="Logarithmic cost axis.")] = False,
    title: Annotated[
        str | None,
        typer.Option(
            "--title",
            metavar="TEXT",
            help="Figure title [default: learning curves].",
            show_default=False,
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            metavar="SWEEP",
            help="Plot the trials of this sweep (id, prefix or 'latest').",
            show_default=False,
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="KEY",
            help="Draw --metric against this config key (one point per run) "
            "instead of learning curves, e.g. --against learning_rate.",
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        str,
        typer.Option(
            "--metric", metavar="METRIC", help="The score drawn with --against, e.g. val_accuracy."
        ),
    ] = "val_loss",
    runs_dir: RunsDirOption = None,
) -> None:
    """Learning curves (cost vs iteration) of several runs on one figure, labelled by run name
    and the config keys that differ between them; or, with --against, a metric against a config
    key (a sweep's trials: --sweep) (needs: pip install 'nnctl[plot]')."""
    from nnctl.commands import plot_curves
    from nnctl.runs import read_history, read_run, run_labels

    specs = list(runs or [])
    if sweep is not None:
        from nnctl.runs import default_runs_dir
        from nnctl.sweep import find_sweep, read_record

        where = runs_dir or default_runs_dir()
        specs += [t.run_id for t in read_record(find_sweep(sweep, where)).trials if t.run_id]
    if not specs:
        raise fail("no runs to plot: give RUN... or --sweep SWEEP")
    dirs = list(dict.fromkeys(_find_runs(specs, runs_dir)))
    infos = [read_run(d) for d in dirs]
    if against is not None:
        from nnctl.commands import plot_metric
        from nnctl.runs import metric_points

        plot_metric(metric_points(infos, against, metric), against, metric, output, title=title)
    else:
        curves = [(label, *read_history(d)) for label, d in zip(run_labels(infos), dirs)]
        plot_curves(curves, output, log_scale=log, title=title)
    print(output, flush=True)


EXAMPLES = """\
nnctl plot latest -o curve.png
nnctl plot 20261126-1015 20261126-1022 -o lr.svg --log --title "learning rates"
nnctl plot --sweep latest --against learning_rate -o lr.png
"""
