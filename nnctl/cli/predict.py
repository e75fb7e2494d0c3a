"""``nnctl predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunArg,
    RunsDirOption,
    ThresholdOption,
    _load,
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
            help="Image files and/or directories of images (feature runs: .csv, .npy, .npz or HDF5 files, one example per row).",
            show_default=False,
        ),
    ],
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON list of predictions on stdout.")] = False,
    threshold: ThresholdOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Predict classes of new inputs with a trained run. Exit 1 if any input failed."""
    from nnctl.predict import predict_inputs

    loaded = _load(run, runs_dir)
    outcome = predict_inputs(loaded, inputs, threshold)
    for message in outcome.failures:
        fail(message)  # prints the line; the exit status comes after all inputs
    if json_:
        print_json(outcome.results)
    elif outcome.results:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"run {loaded.run_id}", title_justify="left")
        table.add_column("input")
        regression = outcome.results[0]["class"] is None
        if regression:
            table.add_column("value", justify="right")
        else:
            table.add_column("class")
            table.add_column("probability", justify="right")
        for r in outcome.results:
            if regression:
                values = r["value"] if isinstance(r["value"], list) else [r["value"]]
                table.add_row(escape(r["input"]), "  ".join(f"{v:.6g}" for v in values))
            else:
                table.add_row(escape(r["input"]), escape(r["class"]), fmt(r["probability"]))
        out_console().print(table)
    if outcome.failures:
        err_console().print(
            f"{len(outcome.failures)} input(s) failed, {len(outcome.results)} prediction(s) made"
        )
        raise typer.Exit(EXIT_FAILED)
