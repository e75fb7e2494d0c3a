"""``nnctl sweep run``, ``resume``, ``check`` and ``show``: their arguments, and what each
calls in the library (``nnctl.sweep``), which is imported only when one of them runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    EXIT_TERMINATED,
    JsonOption,
    RunsDirOption,
    err_console,
    handle_errors,
    interrupted_status,
    out_console,
)
from nnctl.cli.tracking import TrackOption

SweepFileArg = Annotated[
    Path, typer.Argument(metavar="FILE", help="Sweep file (YAML).", show_default=False)
]
SweepArg = Annotated[
    str,
    typer.Argument(
        metavar="SWEEP",
        help="A sweep directory, a sweep id, a unique id prefix, or 'latest'.",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        metavar="N",
        help="Worker processes of the local Dask cluster, one BLAS thread each "
        "[default: one per core].",
        show_default=False,
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Send the trials to this Dask scheduler instead of a local cluster.",
        show_default=False,
    ),
]

RUN_EXAMPLES = """\
nnctl sweep run configs/spiral_sweep.yaml --workers 2
nnctl sweep run sweep.yaml --scheduler tcp://127.0.0.1:8786 --json
"""
RESUME_EXAMPLES = """\
nnctl sweep resume latest
nnctl sweep resume spiral_sweep-20261126-115642 --workers 2
"""
CHECK_EXAMPLES = """\
nnctl sweep check configs/spiral_sweep.yaml
"""
SHOW_EXAMPLES = """\
nnctl sweep show latest
nnctl sweep show latest --json
"""


def _run(
    sweep_dir: Path,
    runs_dir: Path,
    workers: int | None,
    scheduler: str | None,
    json_: bool,
    tracking: Any = None,
) -> None:
    """Runs the sweep with its live display, then reports it (and writes it to its trackers);
    exits with the report's status."""
    from nnctl.cli.sweep.display import SweepDisplay
    from nnctl.cli.sweep.outcome import report
    from nnctl.sweep import run_sweep
    from nnctl.system import interrupt

    display = SweepDisplay()
    try:
        # SIGTERM (kill, timeout, batch schedulers) stops a sweep as Ctrl-C does: the trials in
        # flight abandoned, the sweep marked interrupted, the cluster shut down.
        with interrupt.handle_signals():
            record = run_sweep(sweep_dir, runs_dir, workers, scheduler, display)
    except KeyboardInterrupt:
        display.stop()
        code = interrupted_status()
        how = "terminated (SIGTERM)" if code == EXIT_TERMINATED else "interrupted"
        err_console().print(
            f"{how}; the sweep is saved: continue it with: nnctl sweep resume {sweep_dir.name}"
        )
        raise typer.Exit(code) from None
    finally:
        display.stop()
    code = report(record, sweep_dir, runs_dir, json_)
    if tracking is not None:
        _track(record, sweep_dir, runs_dir, tracking)
    if code:
        raise typer.Exit(code)


def _sweep_tracking(config: Path, track: list[str] | None, runs_dir: Path) -> Any:
    """The sweep's trackers: its base config's ``tracking`` key and ``--track``."""
    from nnctl.api.tracked import trackers
    from nnctl.config import load_config
    from nnctl.system import ConfigError

    try:
        keys = load_config(config).tracking
    except ConfigError:  # checked by check_sweep as each trial's config; not on its own
        keys = None
    return trackers(keys, track, runs_dir)


def _track(record: Any, sweep_dir: Path, runs_dir: Path, tracking: Any) -> None:
    """The sweep as one parent (MLflow: a run named by the sweep id, its trials nested;
    TensorBoard: a folder of the trials' folders); a failure is a warning line."""
    from nnctl.cli.common import print_notice, print_warning
    from nnctl.tracking import track_group

    best = record.best()
    dirs = [
        runs_dir / t.run_id for t in record.trials if t.run_id and (runs_dir / t.run_id).is_dir()
    ]
    params = {
        "metric": record.metric,
        "direction": record.direction,
        "sampler": record.sampler,
        "trials": record.n_trials,
        "swept_keys": ", ".join(record.keys),
        "config": record.config,
    }
    metrics = (
        {f"best/{record.metric}": best.value} if best is not None and best.value is not None else {}
    )
    tags = {"nnctl.status": record.status, "nnctl.best_run_id": (best.run_id or "") if best else ""}
    files = [
        p for p in sorted(sweep_dir.iterdir()) if p.is_file() and p.suffix in (".yaml", ".json")
    ]
    warnings = track_group(
        record.sweep_id,
        dirs,
        tracking.spec,
        params=params,
        metrics=metrics,
        tags=tags,
        artifacts=files,
    )
    for line in warnings:
        print_warning(line)
    if not warnings:
        print_notice(
            f"tracked: sweep {record.sweep_id} and its {len(dirs)} trial run(s) in "
            + " and ".join(tracking.spec.trackers)
        )


@handle_errors
def sweep_run(
    sweep_file: SweepFileArg,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    track: TrackOption = None,
) -> None:
    """Run a sweep; print the best run's id by the validation metric (or --json) on stdout.
    Exit 0: every trial complete or pruned; 1: some trial failed or diverged (the best of the
    rest is still printed); 2: bad sweep file or config (nothing trained); 130: Ctrl-C, 143:
    SIGTERM (resume it)."""
    from nnctl.runs import default_runs_dir
    from nnctl.sweep import (
        check_sweep,
        discard_if_unstarted,
        import_backends,
        load_sweep,
        start_sweep,
    )
    from nnctl.system import NnctlError

    if workers is not None and scheduler is not None:
        from nnctl.cli.common import fail

        raise fail(
            "--workers sizes a local cluster; with --scheduler the cluster's own workers run "
            "the trials"
        )
    spec = load_sweep(sweep_file)
    import_backends()  # not installed: one error line before anything is checked or written
    check_sweep(spec)  # a typo must not cost a half-finished sweep
    where = runs_dir or default_runs_dir()
    tracking = _sweep_tracking(spec.config, track, where)  # a missing extra: before it starts
    sweep_dir = start_sweep(spec, where)
    try:
        _run(sweep_dir, where, workers, scheduler, json_, tracking)
    except NnctlError:
        discard_if_unstarted(sweep_dir)  # e.g. an unreachable --scheduler: leave nothing behind
        raise


@handle_errors
def sweep_resume(
    sweep: SweepArg,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
    track: TrackOption = None,
) -> None:
    """Continue an interrupted sweep from its recorded study: the trials it had sent but not
    finished run again, then new ones until it has all its trials."""
    from nnctl.runs import default_runs_dir
    from nnctl.sweep import find_sweep, read_record

    where = runs_dir or default_runs_dir()
    sweep_dir = find_sweep(sweep, where)
    record = read_record(sweep_dir)
    if record.status == "complete":
        from nnctl.cli.common import fail

        raise fail(
            f"sweep {record.sweep_id} is already complete ({len(record.trials)} trials); "
            f"see it with: nnctl sweep show {record.sweep_id}"
        )
    tracking = _sweep_tracking(Path(record.config), track, where)
    _run(sweep_dir, where, workers, scheduler, json_, tracking)


@handle_errors
def sweep_check(sweep_file: SweepFileArg) -> None:
    """Validate a sweep file and every trial config it enumerates (the whole grid, or each
    key's choices and range ends) against its data, training nothing."""
    from nnctl.sweep import check_sweep, load_sweep

    spec = load_sweep(sweep_file)
    checked, trials = check_sweep(spec)
    err_console().print(
        f"{sweep_file}: ok ({spec.sampler}, {trials} trials, {len(spec.space)} swept keys, "
        f"metric {spec.metric}; {checked} trial config(s) checked against the data)"
    )


@handle_errors
def sweep_show(sweep: SweepArg, runs_dir: RunsDirOption = None, json_: JsonOption = False) -> None:
    """Re-print a sweep's table of trials and its best run (stdout: the table, or --json)."""
    from nnctl.cli.sweep.outcome import record_table, report, test_text
    from nnctl.runs import default_runs_dir
    from nnctl.sweep import find_sweep, read_record, test_scores

    where = runs_dir or default_runs_dir()
    sweep_dir = find_sweep(sweep, where)
    record = read_record(sweep_dir)
    if json_:
        report(record, sweep_dir, where, True)
        return
    console = out_console()
    if not console.is_terminal:
        console.width = 250
    console.print(record_table(record))
    best = record.best()
    if best is not None:
        test = test_scores(where, best.run_id) if best.run_id else {}
        err_console().print(
            f"sweep {record.sweep_id}: {record.status}, {len(record.trials)} of {record.n_trials} "
            f"trials; best: trial {best.trial}, run {best.run_id}, {record.metric} "
            f"{best.value:.6g}; its {test_text(test)}"
        )
