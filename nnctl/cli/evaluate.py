"""``nnctl evaluate``: ``Run.evaluate`` (or ``Run.tune_threshold``) and its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    JsonOption,
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
def evaluate(
    run: RunArg,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="Evaluate on this labelled data file or image folder (any kind train reads) "
            "instead of the run's own data.",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            metavar="train|val|test",
            help="Which split of the run's own dataset [default: test, else train].",
        ),
    ] = None,
    json_: JsonOption = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="DIR",
            help="Image classifiers: write each misclassified image into DIR as a PNG.",
        ),
    ] = None,
    threshold: ThresholdOption = None,
    tune: Annotated[
        str | None,
        typer.Option(
            "--tune-threshold",
            metavar="f1|precision=P|recall=R",
            help="Binary classifiers: choose the threshold on the validation split (never the "
            "test set) for the best F1, the best recall at precision >= P, or the best "
            "precision at recall >= R; print it and the split's scores at it.",
            show_default=False,
        ),
    ] = None,
    threads: ScoringThreadsOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Score a trained run on a labelled dataset: accuracy, precision, recall, F1 (per class too),
    log loss, confusion matrix; MSE, MAE, R² for regression runs."""
    from nnctl.api import load_run
    from nnctl.api.scoring import check_errors_folder, is_regression, write_misclassified

    if split is not None and split not in ("train", "val", "test"):
        raise fail(f"--split: got {split!r}; valid: train, val, test")
    goal = None
    if tune is not None:
        from nnctl.api.scoring import parse_goal

        given = [
            f
            for f, v in (("--split", split), ("--data", data), ("--threshold", threshold))
            if v is not None
        ]
        if given:
            raise fail(
                f"--tune-threshold tunes on the run's validation split and sets the threshold; "
                f"it cannot be combined with {given[0]}"
            )
        goal = parse_goal(tune)
    found = load_run(run, runs_dir=runs_dir)
    loaded = found.loaded()
    if errors is not None:
        check_errors_folder(loaded, errors)
    if goal is not None:
        tuned, ev = found.tune_threshold(goal, threads=threads)
        if not json_:
            err_console().print(
                f"threshold {tuned:.10g} ({goal} on the validation split); use it with "
                f"--threshold {tuned:.10g} in predict and evaluate"
            )
    else:
        ev = found.evaluate(data, split=split, threshold=threshold, threads=threads)
    for note in ev.notes:
        from rich.markup import escape

        err_console().print(f"[yellow]warning:[/] {escape(note)}", markup=True)
    if json_:
        tuned_json = {} if goal is None else {"tuned_for": str(goal)}
        print_json({"run_id": loaded.run_id, **tuned_json, **ev.to_dict()})
    elif is_regression(ev):
        _print_regression(loaded.run_id, ev)
    else:
        from rich.markup import escape
        from rich.table import Table

        from nnctl.system import printable

        console = out_console()
        scores = Table(
            title=f"run {loaded.run_id} on {escape(printable(ev.data))}",
            show_header=False,
            title_justify="left",
        )
        scores.add_column(style="bold")
        scores.add_column(justify="right")
        positive = f" ({escape(ev.classes[1])})" if len(ev.classes) == 2 else " (macro average)"
        for name, value in [
            ("examples", str(ev.n)),
            ("accuracy", fmt(ev.accuracy)),
            ("balanced accuracy", fmt(ev.balanced_accuracy)),
            ("precision" + positive, fmt(ev.precision)),
            ("recall" + positive, fmt(ev.recall)),
            ("F1" + positive, fmt(ev.f1)),
            ("log loss", fmt(ev.log_loss)),
        ]:
            scores.add_row(name, value)
        console.print(scores)
        if len(ev.classes) > 2:
            per = Table(title="per class", title_justify="left")
            for h in ("class", "precision", "recall", "F1", "support"):
                per.add_column(h, justify="left" if h == "class" else "right")
            pc = ev.per_class
            for k, c in enumerate(ev.classes):
                per.add_row(
                    escape(c),
                    fmt(pc["precision"][k], 4),
                    fmt(pc["recall"][k], 4),
                    fmt(pc["f1"][k], 4),
                    str(pc["support"][k]),
                )
            console.print(per)
        cm = Table(
            title="confusion matrix (rows: true class, columns: predicted)", title_justify="left"
        )
        cm.add_column("true \\ predicted", style="bold")
        for c in ev.classes:
            cm.add_column(escape(c), justify="right")
        for c, row in zip(ev.classes, ev.confusion.tolist()):
            cm.add_row(escape(c), *map(str, row))
        console.print(cm)
    if errors is not None:
        written = write_misclassified(ev, errors)
        err_console().print(f"wrote {len(written)} misclassified image(s) to {errors}")


def _print_regression(run_id: str, ev: Any) -> None:
    """evaluate's tables for a regression run: overall scores, then one row per output."""
    from rich.markup import escape
    from rich.table import Table

    from nnctl.system import printable

    console = out_console()
    scores = Table(
        title=f"run {run_id} on {escape(printable(ev.data))}",
        show_header=False,
        title_justify="left",
    )
    scores.add_column(style="bold")
    scores.add_column(justify="right")
    every = " (all outputs)" if ev.n_outputs > 1 else ""
    for name, value in [
        ("examples", str(ev.n)),
        ("MSE" + every, fmt(ev.mse)),
        ("MAE" + every, fmt(ev.mae)),
        ("R²" + (" (mean over outputs)" if every else ""), fmt(ev.r2)),
    ]:
        scores.add_row(name, value)
    console.print(scores)
    if ev.per_output:
        per = Table(title="per output", title_justify="left")
        for h in ("output", "MSE", "MAE", "R²"):
            per.add_column(h, justify="right")
        for k, s in enumerate(ev.per_output):
            per.add_row(str(k), fmt(s["mse"]), fmt(s["mae"]), fmt(s["r2"]))
        console.print(per)


EXAMPLES = """\
nnctl evaluate latest
nnctl evaluate latest --split train --json
nnctl evaluate latest --data other_test.h5 --errors wrong/
"""
