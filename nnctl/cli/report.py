"""``nnctl report``: ``nnctl.api.write_report`` of the runs named, then the page's path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import (
    RunsArg,
    RunsDirOption,
    at_least,
    err_console,
    handle_errors,
)


def _at_least_0(value: int) -> int:
    return at_least(0, value)


@handle_errors
def report(
    runs: RunsArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="HTML file to write.")
    ] = Path("report.html"),
    max_images: Annotated[
        int,
        typer.Option(
            "--max-images",
            callback=_at_least_0,
            metavar="N",
            help="Show at most N misclassified test images per run.",
        ),
    ] = 24,
    runs_dir: RunsDirOption = None,
) -> None:
    """One self-contained HTML page (no network, opens from disk) for one or more complete runs:
    learning and validation curves, scores, confusion matrix or residuals, misclassified
    images, config and provenance; several runs are also compared. Prints the file's path."""
    from nnctl.api import write_report

    # -o is checked before any run is found or read; each run is shown once
    info = write_report(runs, output, max_images=max_images, runs_dir=runs_dir)
    print(output, flush=True)
    err_console().print(
        f"wrote {output}: {info.runs} run(s), {info.size / 1024:,.0f} KiB in {info.seconds:.2f} s"
    )


EXAMPLES = """\
nnctl report latest                      writes report.html
nnctl report latest -o cat.html --max-images 8
nnctl train configs/cat_deep.yaml --report
"""
