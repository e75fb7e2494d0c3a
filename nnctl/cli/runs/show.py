"""``nnctl runs show``: one run's config, summary, model and cost curve, or all of it as JSON."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nnctl.cli.common import RunArg, RunsDirOption, _find_runs, handle_errors, print_json
from nnctl.cli.runs.cells import table_console

EXAMPLES = """\
nnctl runs show latest
nnctl runs show 20261126-1015 --json | jq .summary.test_accuracy
"""

# Summary keys the text view leaves out: already in the config or the header.
_SHOWN_ELSEWHERE = ("layer_dims", "activations", "loss", "dtype", "run_id", "name", "config")


def _model_summary(s: Any) -> Any:
    """The model summary of a run (``s``: its ``RunSummary``): a batch is its batch_size, or
    the whole training set."""
    from nnctl.core import summarize

    if not s.layer_dims or not s.activations:
        return None
    n_train = (s.dataset or {}).get("n_train")
    batch = (s.config or {}).get("batch_size") or n_train
    if isinstance(batch, int) and isinstance(n_train, int):
        batch = min(batch, n_train)
    norm = (s.config or {}).get("batch_norm.layers")
    return summarize(
        s.layer_dims,
        s.activations,
        s.dtype or "float64",
        batch if isinstance(batch, int) else None,
        norm if isinstance(norm, list) else None,
    )


@handle_errors
def runs_show(
    run: RunArg,
    json_: Annotated[
        bool, typer.Option("--json", help="Print config, summary and history as one JSON object.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """A run's resolved config, its summary, and its cost curve drawn in the terminal."""
    from nnctl.cli.textplot import curve_lines
    from nnctl.core import summary_lines
    from nnctl.runs import (
        CONFIG_FILE,
        SUMMARY_FILE,
        config_file,
        read_config_text,
        read_history,
        read_run,
    )

    (run_dir,) = _find_runs([run], runs_dir)
    info = read_run(run_dir)
    its, costs = read_history(run_dir)
    config_text = read_config_text(run_dir) or ""
    summary = {
        **info.summary.to_json(),
        "status": info.row["status"],
    }  # "stale": its process is gone
    if json_:
        from nnctl.config import parse_yaml  # a damaged config file is one error line

        print_json(
            {
                "run_dir": str(run_dir),
                "config": parse_yaml(config_text, str(config_file(run_dir)))
                if config_text
                else None,
                "summary": summary,
                "history": {"iteration": its, "cost": costs},
            }
        )
        return
    console = table_console()
    console.print(f"run {info.row['id']}  ({run_dir})", markup=False)
    console.print(f"\n{CONFIG_FILE}")
    console.print(config_text.rstrip() or "(missing)", markup=False)
    console.print(f"\n{SUMMARY_FILE}")
    shown = {k: v for k, v in summary.items() if k not in _SHOWN_ELSEWHERE}
    width = max(map(len, shown), default=0)
    import json  # here, not at the top: `nnctl --help` imports no json

    for k, v in shown.items():
        value = json.dumps(v) if isinstance(v, (dict, list)) else ("-" if v is None else str(v))
        console.print(f"{k:<{width}}  {value}", markup=False)
    model = _model_summary(info.summary)
    if model is not None:
        console.print("\nmodel")
        for line in summary_lines(model):
            console.print(line, markup=False, highlight=False)
    console.print("\ncost")
    for line in curve_lines(its, costs, width=min(60, max(10, console.width - 14))):
        console.print(line, markup=False, highlight=False)
