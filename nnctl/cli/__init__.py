"""The command line: parses arguments, calls the library, prints. This package is the only code
that imports typer and rich. Human-readable output goes to stderr; stdout carries only results
(a run id, a table, or JSON with --json), so commands compose in shell scripts.

One module per command or command group (``train``, ``gradcheck``, ``plot``, ``predict``,
``evaluate``, ``diagnose``, ``report``, ``export``, ``serve``, ``verify``, ``config``, ``data``;
the packages ``runs`` and ``sweep``), registered on ``app`` here; ``common`` holds what several
of them use, ``display`` draws training progress, ``usage`` the help screens and one-line usage
errors, ``complete`` the shell-completion candidates.

Heavy modules (numpy, h5py, Pillow, rich) are imported inside the commands that need them, so
``nnctl --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli import (
    config,
    cv,
    data,
    diagnose,
    evaluate,
    export,
    gradcheck,
    plot,
    predict,
    report,
    runs,
    serve,
    sweep,
    train,
    verify,
)
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup, TrainCommand

app = typer.Typer(
    help="Train fully connected L-layer neural networks in plain numpy, driven by YAML configs.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    pretty_exceptions_enable=False,
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl train configs/cat_deep.yaml          train; prints the run id
nnctl runs list --sort -test_accuracy      the runs, best first
nnctl predict latest cat.jpg               classify an image with the newest run""",
)


def _version(value: bool) -> None:
    if value:
        import nnctl

        print(f"nnctl {nnctl.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Train fully connected L-layer neural networks in plain numpy, driven by YAML configs."""


# (command, its line in `nnctl --help`); each module's EXAMPLES end its help screen.
app.command(
    cls=TrainCommand,
    short_help="Train a network from a YAML config; print the run id.",
    epilog=train.EXAMPLES,
)(train.train)
for _fn, _short, _examples in (
    (
        gradcheck.gradcheck,
        "Check the backward pass against numerical gradients.",
        gradcheck.EXAMPLES,
    ),
    (plot.plot, "Plot the learning curves of runs to an image file.", plot.EXAMPLES),
    (predict.predict, "Predict the class (or value) of new inputs with a run.", predict.EXAMPLES),
    (
        evaluate.evaluate,
        "Score a run on labelled data: accuracy, F1, confusion matrix.",
        evaluate.EXAMPLES,
    ),
    (
        diagnose.diagnose,
        "Bias, variance and dev/test mismatch of a run, with next steps.",
        diagnose.EXAMPLES,
    ),
    (
        cv.cv,
        "K-fold cross-validation of a config: fold scores, out-of-fold predictions.",
        cv.EXAMPLES,
    ),
    (report.report, "Write one self-contained HTML page about runs.", report.EXAMPLES),
    (export.export, "Export a run as an ONNX model or an .npz of its weights.", export.EXAMPLES),
    (serve.serve, "Serve runs over HTTP: predictions as JSON, for apps.", serve.EXAMPLES),
    (verify.verify, "Replay a run; say whether it comes out the same bits.", verify.EXAMPLES),
):
    app.command(cls=NnctlCommand, short_help=_short, epilog=_examples)(_fn)
app.add_typer(config.config_app, name="config")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(data.data_app, name="data")
app.add_typer(sweep.sweep_app, name="sweep")


def main() -> None:
    app()
