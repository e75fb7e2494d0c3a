"""``nnctl diagnose``: the course's recipe (bias, variance, dev/test mismatch) for one run."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    JsonOption,
    RunArg,
    RunsDirOption,
    _load,
    handle_errors,
    out_console,
    print_json,
    print_notice,
)

_SPLIT_NAMES = {"baseline": "baseline", "train": "train", "val": "dev (val)", "test": "test"}


@handle_errors
def diagnose(
    run: RunArg,
    baseline: Annotated[
        float | None,
        typer.Option(
            "--baseline",
            metavar="ERROR",
            help="The error the run could reach: a human-level estimate or a simple model's "
            "error (classifiers: 1 - accuracy, in [0, 1]; regression: an MSE) "
            "[default: the config's diagnose.baseline, else 0].",
            show_default=False,
        ),
    ] = None,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Read a run's training, dev (validation) and test errors against a baseline, as the
    course's recipe does: avoidable bias (train - baseline), variance (dev - train) and dev/test
    mismatch (test - dev), each with a verdict and next steps as --set overrides to paste."""
    from nnctl.commands.diagnose import diagnose_run

    loaded = _load(run, runs_dir)
    d = diagnose_run(loaded, baseline)
    if json_:
        print_json(d.to_dict())
        return
    for note in d.notes:
        print_notice(note)
    _print(d)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _print(d: Any) -> None:
    """The errors, the gaps with their verdicts, and the next steps of the gaps that are high."""
    from rich.box import SIMPLE_HEAD
    from rich.markup import escape
    from rich.table import Table

    console = out_console()
    e = d.errors
    errors = Table(
        title=f"run {d.run_id}: {e.metric} per split",
        title_justify="left",
        box=SIMPLE_HEAD,
        show_edge=False,
    )
    for h in ("", "error", "examples"):
        errors.add_column(h, justify="left" if not h else "right")
    source = {"default": "default", "--baseline": "--baseline"}.get(d.baseline_source, "config")
    errors.add_row("baseline", f"{d.baseline:.4f}", source)
    for split, value, n in (
        ("train", e.train, e.n_train),
        ("val", e.val, e.n_val),
        ("test", e.test, e.n_test),
    ):
        if value is not None:
            errors.add_row(_SPLIT_NAMES[split], f"{value:.4f}", "-" if n is None else str(n))
    console.print(errors)
    console.print()
    gaps = Table(title="the recipe", title_justify="left", box=SIMPLE_HEAD, show_edge=False)
    for h in ("gap", "", "value", "high above", "verdict"):
        gaps.add_column(h, justify="right" if h in ("value", "high above") else "left")
    for g in d.gaps:
        between = f"{_SPLIT_NAMES[g.upper]} - {_SPLIT_NAMES[g.lower]}"
        verdict = f"[bold red]{escape(g.verdict)}[/]" if g.high else escape(g.verdict)
        gaps.add_row(g.name, between, _signed(g.value), f"{g.threshold:.4g}", verdict)
    console.print(gaps)
    console.print()
    if d.focus is None:
        console.print("no gap is high: the run does as well as the baseline says it can")
        return
    console.print(f"work on [bold]{escape(d.focus)}[/] first (the largest gap)")
    for g in sorted(d.gaps, key=lambda g: g.name != d.focus):
        if not g.steps:
            continue
        console.print(f"\nnext steps for {escape(g.name)}:")
        for step in g.steps:
            console.print(f"  - {escape(step.text)}")
            command = step.command(d.config_file)
            if command:
                console.print(f"      {escape(command)}", soft_wrap=True)


EXAMPLES = """\
nnctl diagnose latest
nnctl diagnose latest --baseline 0.04      a human-level error of 4%
nnctl diagnose latest --json
"""
