"""``nnctl runs compare``: two or more runs side by side, and the config keys that differ."""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli.common import RunsArg, RunsDirOption, _find_runs, handle_errors, print_json
from nnctl.cli.runs.cells import cell, table_console

EXAMPLES = """\
nnctl runs compare 20261126-1015 20261126-1022
nnctl runs compare 20261126-1015 latest --json
"""


@handle_errors
def runs_compare(
    runs: RunsArg,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the comparison as one JSON object.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Metrics of two or more runs side by side, and only the config keys that differ."""
    from nnctl.runs import compare_runs, read_run
    from nnctl.system import UsageError

    if len(runs) < 2:
        raise UsageError("runs compare needs at least two runs (use 'nnctl runs show RUN' for one)")
    cmp = compare_runs([read_run(d) for d in _find_runs(runs, runs_dir)])
    if json_:
        print_json(
            {
                "runs": cmp.ids,
                "names": cmp.names,
                "metrics": dict(cmp.metrics),
                "config_differences": dict(cmp.differing),
            }
        )
        return
    from rich.markup import escape  # run names like x[/] are text, not markup
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("")
    for rid, name in zip(cmp.ids, cmp.names):
        table.add_column(escape(f"{rid}\n{name}"), no_wrap=True, justify="right")
    for k, values in cmp.metrics:
        table.add_row(escape(cell(k)), *(escape(cell(v)) for v in values))
    table.add_row()
    differing = [(k, v) for k, v in cmp.differing if k != "name"]  # names head the columns
    for k, values in differing:
        table.add_row(escape(cell(k)), *(escape(cell(v)) for v in values))
    if not differing:
        table.add_row("(config)", *(["identical"] * len(cmp.ids)))
    table_console().print(table)
