"""``nnctl train``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Optional

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    JsonOption,
    RunsDirOption,
    SetOption,
    ThreadsOption,
    err_console,
    fail,
    handle_errors,
    limit_threads,
    print_json,
    print_warning,
)
from nnctl.cli.display import _TrainDisplay, extra_values


@handle_errors
def train(
    config: Annotated[
        Optional[Path], typer.Argument(help="YAML config file (omit with --resume).", show_default=False)
    ] = None,
    set_: SetOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (stdout still gets the run id).")] = False,
    threads: ThreadsOption = None,
    resume: Annotated[
        Optional[str],
        typer.Option("--resume", metavar="RUN", help="Continue an interrupted run (path, id, prefix or 'latest') "
                     "from its last checkpoint, with its own config."),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="At the end, write report.html into the run directory (see nnctl report).")
    ] = False,
) -> None:
    """Train a network from a config; print the run id (or --json) on stdout."""
    from nnctl.config import load_config
    from nnctl.runs import default_runs_dir, find_run, has_checkpoint
    from nnctl.train import resume_run, train_run

    display = _TrainDisplay(quiet)
    if resume is not None:
        if config is not None or set_:
            raise fail("--resume continues a run with its own saved config; give no CONFIG and no --set")
        run_dir = find_run(resume, runs_dir or default_runs_dir())
        start = functools.partial(resume_run, run_dir, threads=threads)
    elif config is None:
        raise fail("missing CONFIG: give a YAML config file, or --resume RUN")
    else:
        cfg = load_config(config, set_ or [])
        if not quiet:
            for warning in cfg.warnings():
                print_warning(warning)
        start = functools.partial(train_run, cfg, runs_dir or default_runs_dir(), threads=threads)
    try:
        with limit_threads(threads):
            outcome = start(on_start=display.start, on_iteration=display.iteration)
    finally:
        display.stop()
    display.summary(outcome)
    s = outcome.summary
    if json_:
        print_json({
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
        })
    else:
        print(outcome.run_id, flush=True)
    if report:
        _write_report(outcome, quiet)
    if outcome.status == "diverged":
        raise fail(f"training diverged: {s.message}", EXIT_FAILED)
    if outcome.status == "interrupted":
        err_console().print(f"{s.message}; run marked interrupted")
        if has_checkpoint(outcome.run_dir):
            err_console().print(f"continue from its last checkpoint with: nnctl train --resume {outcome.run_id}")
        raise typer.Exit(EXIT_INTERRUPTED)


def _write_report(outcome: object, quiet: bool) -> None:
    """``--report``: the run's report.html, after the run id is printed (a report that fails
    is one error line and exit 2; the run itself stays complete)."""
    if outcome.status != "complete":  # type: ignore[attr-defined]
        print_warning(f"no report: the run is {outcome.status}")  # type: ignore[attr-defined]
        return
    from nnctl.report import write_report
    from nnctl.runs import load_run

    run_dir = outcome.run_dir  # type: ignore[attr-defined]
    info = write_report([load_run(run_dir)], run_dir / "report.html")
    if not quiet:
        err_console().print(f"report: {info.path} ({info.size / 1024:,.0f} KiB)")
