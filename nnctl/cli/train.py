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
        start = functools.partial(resume_run, run_dir)
    elif config is None:
        raise fail("missing CONFIG: give a YAML config file, or --resume RUN")
    else:
        cfg = load_config(config, set_ or [])
        if not quiet:
            for warning in cfg.warnings():
                print_warning(warning)
        start = functools.partial(train_run, cfg, runs_dir or default_runs_dir())
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
    if outcome.status == "diverged":
        raise fail(f"training diverged: {s.message}", EXIT_FAILED)
    if outcome.status == "interrupted":
        err_console().print(f"{s.message}; run marked interrupted")
        if has_checkpoint(outcome.run_dir):
            err_console().print(f"continue from its last checkpoint with: nnctl train --resume {outcome.run_id}")
        raise typer.Exit(EXIT_INTERRUPTED)
