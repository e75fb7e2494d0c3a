"""The command line: parses arguments, calls the library, prints. This package is the only code
that imports typer and rich. Human-readable output goes to stderr; stdout carries only results
(a run id, a table, or JSON with --json), so commands compose in shell scripts.

One module per command or command group (``train``, ``gradcheck``, ``plot``, ``predict``,
``evaluate``, ``report``, ``export``, ``config``, ``runs``, ``data``), registered on ``app`` here; ``common`` holds what several
of them use, ``display`` draws training progress.

Heavy modules (numpy, h5py, Pillow, rich) are imported inside the commands that need them, so
``nnctl --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli import config, data, evaluate, export, gradcheck, plot, predict, report, runs, train

app = typer.Typer(
    help="Train fully connected L-layer neural networks in plain numpy, driven by YAML configs.",
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        import nnctl

        print(f"nnctl {nnctl.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Train fully connected L-layer neural networks in plain numpy, driven by YAML configs."""


app.command()(train.train)
app.command()(gradcheck.gradcheck)
app.command()(plot.plot)
app.command()(predict.predict)
app.command()(evaluate.evaluate)
app.command()(report.report)
app.command()(export.export)
app.add_typer(config.config_app, name="config")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(data.data_app, name="data")


def main() -> None:
    app()
