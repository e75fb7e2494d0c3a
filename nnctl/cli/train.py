"""``nnctl train``: parses its options and calls ``nnctl.train`` (or ``Run.resume``) with its
display; the run the API returns (or its errors carry) is what it prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    library_warnings,
    print_json,
    print_warning,
)
from nnctl.cli.display import _TrainDisplay
from nnctl.cli.tracking import TrackOption, print_notes

if TYPE_CHECKING:
    from nnctl.api import Run


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
    from nnctl.api import TrainingDiverged, TrainingInterrupted, load_run, resolve_config
    from nnctl.api import train as train_run

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
        found = load_run(resume, runs_dir=runs_dir)

        def go() -> Run:
            return found.resume(
                more, **length, threads=threads, progress=display, track=track, defer_tracking=True
            )

    elif config is None:
        raise fail("missing CONFIG: give a YAML config file, or --resume RUN")
    else:

        def go() -> Run:
            cfg = resolve_config(config, {}, sets=set_ or [])
            return train_run(
                cfg,
                runs_dir=runs_dir,
                threads=threads,
                progress=display,
                track=track,
                defer_tracking=True,
            )

    # nnctl.train and Run.resume hold the signal handlers: SIGTERM (kill, timeout, schedulers)
    # stops a training as Ctrl-C does, at a step boundary, with a checkpoint
    try:
        with library_warnings(None if quiet else print_warning):
            run = go()
    except TrainingDiverged as exc:
        run = exc.run
    except TrainingInterrupted as exc:
        if not exc.clean:  # a signal outside the loop: one "interrupted" line (handle_errors)
            raise
        run = exc.run
    s = run.summary
    display.summary(s, run.dir)
    if json_:
        print_json(run.record())
    else:
        print(run.id, flush=True)
    if report:
        _write_report(run, s.status, quiet)
    with library_warnings(print_warning):  # after the report, which the trackers attach
        print_notes(run.finish_tracking(), quiet)
    if s.status == "diverged":
        raise fail(f"training diverged: {s.message}", EXIT_FAILED)
    if s.status == "interrupted":
        err_console().print(f"{s.message}; run marked interrupted", markup=False)
        if run.resumable:
            err_console().print(
                f"continue from its last checkpoint with: nnctl train --resume {run.id}"
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


def _write_report(run: Run, status: str, quiet: bool) -> None:
    """``--report``: the run's report.html, after the run id is printed (a report that fails
    is one error line and exit 2; the run itself stays complete)."""
    if status != "complete":
        print_warning(f"no report: the run is {status}")
        return
    from nnctl.api import write_report

    info = write_report([run], run.dir / "report.html")
    if not quiet:
        err_console().print(f"report: {info.path} ({info.size / 1024:,.0f} KiB)")


EXAMPLES = """\
nnctl train configs/cat_deep.yaml
nnctl train configs/moons.yaml --set learning_rate=0.1 --set optimizer=adam
nnctl train --resume latest
"""
