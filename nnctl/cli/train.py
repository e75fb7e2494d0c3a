"""``nnctl train``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    JsonOption,
    RunsDirOption,
    SetOption,
    ThreadsOption,
    _complete_config,
    err_console,
    fail,
    handle_errors,
    interrupted_status,
    limit_threads,
    print_json,
    print_warning,
)
from nnctl.cli.data import decoding_progress
from nnctl.cli.display import _TrainDisplay, extra_values
from nnctl.cli.tracking import TrackOption, finish_tracking, tracking_for


@handle_errors
def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG",
            help="YAML config file (omit with --resume).",
            show_default=False,
            autocompletion=_complete_config,
        ),
    ] = None,
    set_: SetOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print nothing but errors (stdout still gets the run id)."
        ),
    ] = False,
    threads: ThreadsOption = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue an interrupted run (path, id, prefix or 'latest') "
            "from its last checkpoint, with its own config; with --more N or --set iterations=N "
            "(epochs=N), train any run further.",
        ),
    ] = None,
    more: Annotated[
        int | None,
        typer.Option(
            "--more",
            min=1,
            metavar="N",
            help="With --resume: train N more iterations (epochs, for a "
            "run that counts epochs), as if the run had asked for them from the start.",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="At the end, write report.html into the run directory (see nnctl report).",
        ),
    ] = False,
    track: TrackOption = None,
) -> None:
    """Train a network from a YAML config; print the run id (or --json) on stdout.

    The config's keys are listed below; 'nnctl config show CONFIG' prints a config with every
    default filled in, 'nnctl config schema' the keys as a JSON Schema for editors, and the
    manual (docs/guides/training.md) explains each.
    """
    from nnctl.commands import resume_run, train_run
    from nnctl.config import load_config
    from nnctl.runs import default_runs_dir, find_run, has_checkpoint

    display = _TrainDisplay(quiet)
    if more is not None and resume is None:
        raise fail("--more N continues a run: give it with --resume RUN")
    if resume is not None:
        if config is not None:
            raise fail(
                "--resume continues a run with its own saved config; give no CONFIG and no --set "
                "(except --set iterations=N or epochs=N, to train it further)"
            )
        length = _length_overrides(set_ or [])
        if length and more is not None:
            raise fail("give either --more N or --set iterations=N, not both")
        run_dir = find_run(resume, runs_dir or default_runs_dir())
        from nnctl.runs import load_run_config

        tracking = tracking_for(
            load_run_config(run_dir).tracking, track, runs_dir or default_runs_dir()
        )
        start = functools.partial(resume_run, run_dir, more=more, length=length, threads=threads)
    elif config is None:
        raise fail("missing CONFIG: give a YAML config file, or --resume RUN")
    else:
        cfg = load_config(config, set_ or [])
        tracking = tracking_for(cfg.tracking, track, runs_dir or default_runs_dir())
        if not quiet:
            for warning in cfg.warnings():
                print_warning(warning)
        start = functools.partial(
            train_run,
            cfg,
            runs_dir or default_runs_dir(),
            on_progress=None if quiet else decoding_progress(),
            threads=threads,
        )
    from nnctl.system import interrupt

    try:
        # SIGTERM (kill, timeout, schedulers) stops a training as Ctrl-C does: at a step
        # boundary, with a checkpoint, the run marked interrupted.
        with limit_threads(threads), interrupt.handle_signals():
            if tracking is None:
                outcome = start(on_start=display.start, on_iteration=display.iteration)
            else:
                outcome = start(
                    on_start=tracking.chained_start(display.start),
                    on_iteration=display.iteration,
                    on_epoch=tracking.on_epoch,
                )
    finally:
        display.stop()
    display.summary(outcome)
    s = outcome.summary
    if json_:
        print_json(
            {
                "run_id": outcome.run_id,
                "run_dir": str(outcome.run_dir),
                "name": s.name,
                "status": s.status,
                "final_cost": s.final_cost,
                "train_accuracy": s.metric("train_accuracy"),
                "test_accuracy": s.metric("test_accuracy"),
                "iterations": s.iterations_done,
                "seconds": s.seconds,
                **{k: v for k, _, v in extra_values(s)},
            }
        )
    else:
        print(outcome.run_id, flush=True)
    if report:
        _write_report(outcome, quiet)
    if tracking is not None:  # after the report, which it attaches; a failure is a warning
        finish_tracking(tracking, outcome.run_dir, quiet)
    if outcome.status == "diverged":
        raise fail(f"training diverged: {s.message}", EXIT_FAILED)
    if outcome.status == "interrupted":
        err_console().print(f"{s.message}; run marked interrupted", markup=False)
        if has_checkpoint(outcome.run_dir):
            err_console().print(
                f"continue from its last checkpoint with: nnctl train --resume {outcome.run_id}"
            )
        raise typer.Exit(interrupted_status())


def _length_overrides(items: list[str]) -> dict[str, int]:
    """``--set iterations=N`` / ``epochs=N`` given with --resume: the run's new length."""
    from nnctl.config import parse_yaml
    from nnctl.system import Invalid, positive_int

    out: dict[str, int] = {}
    for item in items:
        key, _, text = item.partition("=")
        key = key.strip()
        if key not in ("iterations", "epochs"):
            raise fail(
                f"--set {key}: with --resume only iterations=N or epochs=N may be set (the run "
                "keeps its own config)"
            )
        try:
            out[key] = positive_int(parse_yaml(text, f"--set {item}"))
        except Invalid as exc:
            raise fail(f"--set {key}: {exc}") from None
    if len(out) > 1:
        raise fail("give one of --set iterations=N or --set epochs=N")
    return out


def _write_report(outcome: object, quiet: bool) -> None:
    """``--report``: the run's report.html, after the run id is printed (a report that fails
    is one error line and exit 2; the run itself stays complete)."""
    if outcome.status != "complete":  # type: ignore[attr-defined]
        print_warning(f"no report: the run is {outcome.status}")  # type: ignore[attr-defined]
        return
    from nnctl.commands import write_report
    from nnctl.runs import load_run

    run_dir = outcome.run_dir  # type: ignore[attr-defined]
    info = write_report([load_run(run_dir)], run_dir / "report.html")
    if not quiet:
        err_console().print(f"report: {info.path} ({info.size / 1024:,.0f} KiB)")


EXAMPLES = """\
nnctl train configs/cat_deep.yaml
nnctl train configs/moons.yaml --set learning_rate=0.1 --set optimizer=adam
nnctl train --resume latest
"""
