"""``nnctl plot``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nnctl.cli.common import RunsArg, RunsDirOption, _find_runs, handle_errors


@handle_errors
def plot(
    runs: RunsArg,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Image file to write (.png, .pdf or .svg).", show_default=False)],
    log: Annotated[bool, typer.Option("--log", help="Logarithmic cost axis.")] = False,
    title: Annotated[Optional[str], typer.Option("--title", metavar="TEXT", help="Figure title [default: learning curves].", show_default=False)] = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Learning curves (cost vs iteration) of several runs on one figure, labelled by run name
    and the config keys that differ between them (needs: pip install 'nnctl[plot]')."""
    from nnctl.plot import plot_curves
    from nnctl.runs import read_history
    from nnctl.runtable import read_run, run_labels

    dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    infos = [read_run(d) for d in dirs]
    curves = [(label, *read_history(d)) for label, d in zip(run_labels(infos), dirs)]
    plot_curves(curves, output, log_scale=log, title=title)
    print(output, flush=True)

EXAMPLES = """\
nnctl plot latest -o curve.png
nnctl plot 20261126-1015 20261126-1022 -o lr.svg --log --title "learning rates"
"""
