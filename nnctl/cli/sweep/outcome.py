"""What a sweep came to, as ``run``, ``resume`` and ``show`` print it: the table of its trials,
its best run by the validation metric with that run's test scores, and the JSON of --json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnctl.cli.common import EXIT_FAILED, err_console, fmt, print_json
from nnctl.cli.sweep.display import params_text, value_text

if TYPE_CHECKING:
    from nnctl.sweep import SweepRecord, TrialRow


def record_table(record: SweepRecord) -> Any:
    """One row per finished trial, in the order they finished, with the best so far."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for h in ("trial", "run", *record.keys, "status", record.metric, "best so far"):
        table.add_column(h, justify="left" if h in ("run", "status") else "right", no_wrap=True)
    for row, best in zip(record.trials, record.best_so_far()):
        table.add_row(
            str(row.trial),
            row.run_id or "-",
            *(value_text(row.params.get(k)) for k in record.keys),
            row.status,
            fmt(row.value),
            fmt(best),
        )
    return table


def test_text(test: dict[str, float]) -> str:
    """The chosen run's test scores in words: "test accuracy 0.9167", or "no test set"."""
    return ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in test.items()) or "no test set"


def report(record: SweepRecord, sweep_dir: Path, runs_dir: Path, json_: bool) -> int:
    """The end of run/resume/show: the best run by the validation metric with its test score;
    stdout: its id, or --json. Returns the exit status."""
    from nnctl.sweep import test_scores

    best = record.best()
    test = test_scores(runs_dir, best.run_id) if best is not None and best.run_id else {}
    console = err_console()
    retried = record.retried()
    console.print(
        f"sweep {record.sweep_id}: {record.status}, {len(record.trials)} of {record.n_trials} "
        "trials ("
        + ", ".join(f"{n} {s}" for s, n in record.status_counts().items())
        + ")"
        + (
            f"; retried after a worker died: trial {', '.join(str(t) for t in retried)}"
            if retried
            else ""
        )
    )
    if best is not None:
        console.print(
            f"best: trial {best.trial}, run {best.run_id}, {record.metric} {best.value:.6g} "
            f"({params_text(best.params)}); its {test_text(test)}"
        )
    else:
        console.print("no trial completed with a value of the metric")
    if json_:
        print_json(_report_json(record, sweep_dir, best, test))
    elif best is not None:
        print(best.run_id, flush=True)
    if best is None:
        return EXIT_FAILED
    return EXIT_FAILED if record.any_failed() else 0


def _report_json(
    record: SweepRecord, sweep_dir: Path, best: TrialRow | None, test: dict[str, float]
) -> dict[str, Any]:
    """--json: the sweep, its ``best`` trial and ``test`` (that trial's test scores), every
    trial."""
    return {
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
