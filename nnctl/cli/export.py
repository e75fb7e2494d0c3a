"""``nnctl export``: ``Run.export``, then the paths it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import RunArg, RunsDirOption, err_console, handle_errors


@handle_errors
def export(
    run: RunArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="File to write (e.g. model.onnx or model.npz).",
            show_default=False,
        ),
    ],
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="onnx|npz",
            help="onnx: a graph any ONNX runtime loads (needs: pip install 'nnctl[export]'); "
            "npz: W1, b1, ... plus a .json sidecar.",
        ),
    ] = "onnx",
    runs_dir: RunsDirOption = None,
) -> None:
    """Export a trained run: an ONNX model that takes raw inputs (preprocessing in the graph and
    its metadata), or the course's W1, b1, ... arrays with a JSON sidecar. Prints the path(s)."""
    from nnctl.api import load_run

    found = load_run(run, runs_dir=runs_dir)
    loaded = found.loaded()  # a run that is not complete is refused before the format
    written = found.export(output, format_)
    for path in written:
        print(path, flush=True)
    sizes = ", ".join(f"{p.name} {p.stat().st_size:,} bytes" for p in written)
    err_console().print(f"exported run {loaded.run_id} as {format_}: {sizes}")


EXAMPLES = """\
nnctl export latest -o model.onnx
nnctl export latest -f npz -o model.npz
"""
