"""``nnctl predict``: the run's ``nnctl.api`` predictions (``scoring.file_predictions``, what
``Run.predict`` of files runs), one error line per input that failed, then the table or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunArg,
    RunsDirOption,
    ScoringThreadsOption,
    ThresholdOption,
    err_console,
    fail,
    fmt,
    handle_errors,
    out_console,
    print_json,
)


@handle_errors
def predict(
    run: RunArg,
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUT...",
            help="Image files and/or directories of images, or - for one image on standard input "
            "(feature runs: .csv, .npy, .npz or HDF5 files, one example per row).",
            show_default=False,
        ),
    ],
    json_: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of predictions on stdout.")
    ] = False,
    threshold: ThresholdOption = None,
    threads: ScoringThreadsOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Predict classes of new inputs with a trained run. Exit 1 if any input failed."""
    from nnctl.api import load_run
    from nnctl.api.scoring import file_predictions
    from nnctl.core import DEFAULT_THRESHOLD, head_for

    for p in inputs:
        if str(p).startswith(("http:/", "https:/")):  # Path() has already folded // into /
            url = str(p).replace(":/", "://", 1)
            raise fail(
                f"{url}: predict reads local files; download it first, or pipe it in: "
                f"curl -sL '{url}' | nnctl predict {run} -"
            )
    loaded = load_run(run, runs_dir=runs_dir).loaded()
    stdin = _read_stdin() if any(str(p) == "-" for p in inputs) else None
    outcome = file_predictions(loaded, inputs, threshold, threads, stdin)
    for message in outcome.failures:
        fail(message)  # prints the line; the exit status comes after all inputs
    if json_:
        print_json(outcome.results)
    elif outcome.results:
        from rich.markup import escape
        from rich.table import Table

        from nnctl.system import printable

        regression = outcome.results[0]["class"] is None
        classes = list(outcome.results[0].get("probabilities") or [])
        # A binary classifier shows the positive class's probability and the threshold it was
        # compared with, so a reader sees why an example got its class.
        binary = not regression and head_for(loaded.config.loss).threshold and len(classes) == 2
        title = f"run {loaded.run_id}"
        if binary:
            used = DEFAULT_THRESHOLD if threshold is None else threshold
            title += f": {classes[1]} when P({classes[1]}) > {used:g}, else {classes[0]}"
        table = Table(title=escape(title), title_justify="left")
        table.add_column("input")
        if regression:
            table.add_column("value", justify="right")
        else:
            table.add_column("class")
            table.add_column(
                escape(f"P({classes[1]})") if binary else "probability", justify="right"
            )
        for r in outcome.results:
            if regression:
                values = r["value"] if isinstance(r["value"], list) else [r["value"]]
                table.add_row(escape(printable(r["input"])), "  ".join(f"{v:.6g}" for v in values))
            else:
                shown = r["probabilities"][classes[1]] if binary else r["probability"]
                table.add_row(escape(printable(r["input"])), escape(r["class"]), fmt(shown))
        out_console().print(table)
    if outcome.failures:
        err_console().print(
            f"{len(outcome.failures)} input(s) failed, {len(outcome.results)} prediction(s) made"
        )
        raise typer.Exit(EXIT_FAILED)


STDIN_LIMIT = 64 * 1024 * 1024
"""The most bytes ``-`` reads from standard input (an image; bounded memory)."""


def _read_stdin() -> bytes:
    """The bytes of ``-``: standard input, which must be piped or redirected, at most
    ``STDIN_LIMIT`` bytes."""
    if sys.stdin is None or sys.stdin.isatty():
        raise fail(
            "-: reads an image from standard input, which is a terminal; pipe or redirect one in "
            "(nnctl predict RUN - < cat.jpg)"
        )
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    data = stream.read(STDIN_LIMIT + 1)
    if isinstance(data, str):
        data = data.encode("latin-1")
    if len(data) > STDIN_LIMIT:
        raise fail(
            f"-: standard input holds more than {STDIN_LIMIT // 2**20} MiB; "
            "not an image nnctl reads"
        )
    return data


EXAMPLES = """\
nnctl predict latest cat.jpg
nnctl predict latest photos/ --threshold 0.7 --json
curl -sL https://example.org/cat.jpg | nnctl predict latest -
"""
