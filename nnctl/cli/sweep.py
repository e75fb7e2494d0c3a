"""``nnctl sweep run``, ``check``, ``show`` and ``resume``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    JsonOption,
    RunsDirOption,
    err_console,
    fmt,
    handle_errors,
    out_console,
    print_json,
)
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

if TYPE_CHECKING:
    from nnctl.sweep import SweepRecord

sweep_app = typer.Typer(
    help="Hyperparameter sweeps: trials searched with Optuna, trained on Dask, chosen on validation data "
    "(needs: pip install 'nnctl[sweep]').",
    short_help="Run, check, show and resume hyperparameter sweeps.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl sweep check configs/spiral_sweep.yaml
nnctl sweep run configs/spiral_sweep.yaml --workers 2
nnctl sweep show latest""",
)

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
        help="Worker processes of the local Dask cluster, one BLAS thread each [default: one per core].",
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


def _value_text(v: Any) -> str:
    """A swept value in a table cell or line ([auto, 16, 3] stays as written: no rich markup)."""
    from rich.markup import escape

    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):  # as YAML's flow style writes it: [auto, 16, 3]
        return escape("[" + ", ".join(_value_text(x) for x in v) + "]")
    return escape(json.dumps(v) if isinstance(v, dict) else str(v))


def _params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={_value_text(v)}" for k, v in params.items())


class _SweepDisplay:
    """A live table of trials on a terminal; one plain line per trial otherwise (stderr)."""

    def __init__(self) -> None:
        self.console = err_console()
        self.live: Any = None
        self.rows: dict[int, tuple] = {}
        self.record: SweepRecord | None = None

    def __call__(self, event: Any) -> None:
        if event.kind == "start":
            self.record = r = event.record
            self.console.print(
                f"sweep {r.sweep_id}: {r.n_trials} trials ({r.sampler}, {r.metric} "
                f"{'minimized' if r.direction == 'minimize' else 'maximized'}"
                + (f", {len(r.trials)} done" if r.trials else "")
                + f") on {event.message}"
            )
            if self.console.is_terminal:
                from rich.live import Live

                self.live = Live(
                    self._table(), console=self.console, refresh_per_second=4, transient=False
                )
                self.live.start()
            return
        if event.kind == "sent":
            self.rows[event.trial] = (event.params, "running", None, None)
        elif event.kind == "retry":
            self.rows[event.trial] = (event.params, "retrying", None, None)
            if self.live is None:
                self.console.print(event.message)
        elif event.kind == "done":
            row, best = event.row, event.best
            self.rows[event.trial] = (
                row.params,
                row.status,
                row.value,
                best.value if best else None,
            )
            if self.live is None:
                metric = "-" if row.value is None else f"{row.value:.6g}"
                best_text = "-" if best is None else f"{best.value:.6g} (trial {best.trial})"
                extra = (
                    f"  ({row.message})"
                    if row.status in ("failed", "pruned", "diverged") and row.message
                    else ""
                )
                self.console.print(
                    f"trial {row.trial:>4}  {_params_text(row.params)}  {row.status}  "
                    f"{self.record.metric} {metric}  best {best_text}{extra}"
                )  # type: ignore[union-attr]
        if self.live is not None:
            self.live.update(self._table())

    def _table(self) -> Any:
        from rich.table import Table

        r = self.record
        table = Table(box=None, pad_edge=False)
        for h in (
            "trial",
            *(r.keys if r else []),
            "status",
            r.metric if r else "metric",
            "best so far",
        ):
            table.add_column(h, justify="right" if h != "status" else "left", no_wrap=True)
        for n, (params, status, value, best) in sorted(self.rows.items()):
            table.add_row(
                str(n),
                *(_value_text(params.get(k)) for k in (r.keys if r else [])),
                status,
                fmt(value),
                fmt(best),
            )
        return table

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _record_table(record: SweepRecord) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for h in ("trial", "run", *record.keys, "status", record.metric, "best so far"):
        table.add_column(h, justify="left" if h in ("run", "status") else "right", no_wrap=True)
    best: float | None = None
    sign = 1 if record.direction == "minimize" else -1
    for row in record.trials:  # in the order they finished: "best so far" as the sweep saw it
        if (
            row.status == "complete"
            and row.value is not None
            and (best is None or sign * row.value < sign * best)
        ):
            best = row.value
        table.add_row(
            str(row.trial),
            row.run_id or "-",
            *(_value_text(row.params.get(k)) for k in record.keys),
            row.status,
            fmt(row.value),
            fmt(best),
        )
    return table


def _test_scores(runs_dir: Path, run_id: str) -> dict[str, float]:
    """The chosen run's test scores (its summary's test_* keys): reported for it only."""
    from nnctl.runs import read_summary
    from nnctl.system import RunError

    try:
        s = read_summary(runs_dir / run_id)
    except RunError:  # the run was removed since (runs rm): the sweep's table still stands
        return {}
    return {k: v for k, v in s.scores.items() if k.startswith("test_") and v is not None}


def _report(record: SweepRecord, sweep_dir: Path, runs_dir: Path, json_: bool) -> int:
    """The end of run/resume/show: the best run by the validation metric with its test score;
    stdout: its id, or --json. Returns the exit status."""
    best = record.best()
    test = _test_scores(runs_dir, best.run_id) if best is not None and best.run_id else {}
    failed = [t for t in record.trials if t.status in ("failed", "diverged")]
    console = err_console()
    counts: dict[str, int] = {}
    for t in record.trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    console.print(
        f"sweep {record.sweep_id}: {record.status}, {len(record.trials)} of {record.n_trials} trials ("
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + ")"
        + (
            f"; retried after a worker died: trial {', '.join(str(t.trial) for t in record.trials if t.attempts > 1)}"
            if any(t.attempts > 1 for t in record.trials)
            else ""
        )
    )
    if best is not None:
        test_text = (
            ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in test.items()) or "no test set"
        )
        console.print(
            f"best: trial {best.trial}, run {best.run_id}, {record.metric} {best.value:.6g} "
            f"({_params_text(best.params)}); its {test_text}"
        )
    else:
        console.print("no trial completed with a value of the metric")
    if json_:
        print_json(
            {
                "sweep_id": record.sweep_id,
                "sweep_dir": str(sweep_dir),
                "status": record.status,
                "metric": record.metric,
                "direction": record.direction,
                "best_run_id": best.run_id if best else None,
                "best_value": best.value if best else None,
                "best_trial": best.trial if best else None,
                "best_params": best.params if best else None,
                "best_test": test,
                "trials": [
                    {
                        "trial": t.trial,
                        "run_id": t.run_id,
                        "status": t.status,
                        "params": t.params,
                        "value": t.value,
                        "attempts": t.attempts,
                        "message": t.message,
                    }
                    for t in record.trials
                ],
            }
        )
    elif best is not None:
        print(best.run_id, flush=True)
    if best is None:
        return EXIT_FAILED
    return EXIT_FAILED if failed else 0


def _run(
    sweep_dir: Path, runs_dir: Path, workers: int | None, scheduler: str | None, json_: bool
) -> None:
    from nnctl.sweep import run_sweep

    display = _SweepDisplay()
    try:
        record = run_sweep(sweep_dir, runs_dir, workers, scheduler, display)
    except KeyboardInterrupt:
        display.stop()
        err_console().print(
            f"interrupted; the sweep is saved: continue it with: nnctl sweep resume {sweep_dir.name}"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        display.stop()
    code = _report(record, sweep_dir, runs_dir, json_)
    if code:
        raise typer.Exit(code)


@sweep_app.command(
    "run",
    cls=NnctlCommand,
    short_help="Run a sweep; print the best run's id.",
    epilog="""\
nnctl sweep run configs/spiral_sweep.yaml --workers 2
nnctl sweep run sweep.yaml --scheduler tcp://127.0.0.1:8786 --json
""",
)
@handle_errors
def sweep_run(
    sweep_file: SweepFileArg,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
) -> None:
    """Run a sweep; print the best run's id by the validation metric (or --json) on stdout.
    Exit 0: every trial complete or pruned; 1: some trial failed or diverged (the best of the
    rest is still printed); 2: bad sweep file or config (nothing trained); 130: Ctrl-C (resume it)."""
    from nnctl.runs import default_runs_dir
    from nnctl.sweep import discard_if_unstarted, load_sweep
    from nnctl.sweep import check_sweep, import_backends, start_sweep
    from nnctl.system import NnctlError

    if workers is not None and scheduler is not None:
        from nnctl.cli.common import fail

        raise fail(
            "--workers sizes a local cluster; with --scheduler the cluster's own workers run the trials"
        )
    spec = load_sweep(sweep_file)
    import_backends()
    check_sweep(spec)  # a typo must not cost a half-finished sweep
    where = runs_dir or default_runs_dir()
    sweep_dir = start_sweep(spec, where)
    try:
        _run(sweep_dir, where, workers, scheduler, json_)
    except NnctlError:
        discard_if_unstarted(sweep_dir)  # e.g. an unreachable --scheduler: leave nothing behind
        raise


@sweep_app.command(
    "resume",
    cls=NnctlCommand,
    short_help="Continue an interrupted sweep.",
    epilog="""\
nnctl sweep resume latest
nnctl sweep resume spiral_sweep-20261126-115642 --workers 2
""",
)
@handle_errors
def sweep_resume(
    sweep: SweepArg,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
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
    _run(sweep_dir, where, workers, scheduler, json_)


@sweep_app.command(
    "check",
    cls=NnctlCommand,
    short_help="Check a sweep file and its trial configs.",
    epilog="""\
nnctl sweep check configs/spiral_sweep.yaml
""",
)
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


@sweep_app.command(
    "show",
    cls=NnctlCommand,
    short_help="A sweep's table of trials and its best run.",
    epilog="""\
nnctl sweep show latest
nnctl sweep show latest --json
""",
)
@handle_errors
def sweep_show(sweep: SweepArg, runs_dir: RunsDirOption = None, json_: JsonOption = False) -> None:
    """Re-print a sweep's table of trials and its best run (stdout: the table, or --json)."""
    from nnctl.runs import default_runs_dir
    from nnctl.sweep import find_sweep, read_record

    where = runs_dir or default_runs_dir()
    sweep_dir = find_sweep(sweep, where)
    record = read_record(sweep_dir)
    if json_:
        _report(record, sweep_dir, where, True)
        return
    console = out_console()
    if not console.is_terminal:
        console.width = 250
    console.print(_record_table(record))
    best = record.best()
    if best is not None:
        test = _test_scores(where, best.run_id) if best.run_id else {}
        test_text = (
            ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in test.items()) or "no test set"
        )
        err_console().print(
            f"sweep {record.sweep_id}: {record.status}, {len(record.trials)} of {record.n_trials} "
            f"trials; best: trial {best.trial}, run {best.run_id}, {record.metric} "
            f"{best.value:.6g}; its {test_text}"
        )
