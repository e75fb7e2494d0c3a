"""``nnctl runs rm``: delete runs, named or matching filters, after asking."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    RunsDirOption,
    _complete_run,
    _find_runs,
    err_console,
    handle_errors,
)
from nnctl.cli.runs.options import FilterOption

EXAMPLES = """\
nnctl runs rm 20261126-1015 --yes
nnctl runs rm --filter created<30d --filter status!=complete --dry-run
nnctl runs rm --filter 'name=scratch-*' --yes
"""


@handle_errors
def runs_rm(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[RUN]...",
            help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.",
            show_default=False,
            autocompletion=_complete_run,
        ),
    ] = None,
    filter_: FilterOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the ids that would be deleted (stdout) and delete nothing."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Delete run directories, named or matching every --filter (asks first unless --yes);
    prints the deleted run ids."""
    from nnctl.runs import check_removable, default_runs_dir, filter_runs, list_runs, remove_run
    from nnctl.system import UsageError

    if runs and filter_:
        raise UsageError("runs rm takes RUNs or --filter, not both")
    if not runs and not filter_:
        raise UsageError("runs rm needs RUNs or --filter KEY=VALUE (e.g. --filter created<30d)")
    if runs:
        dirs = list(dict.fromkeys(_find_runs(runs, runs_dir)))
    else:
        infos, warnings = list_runs(runs_dir or default_runs_dir())
        for w in warnings:
            err_console().print(f"warning: skipping {w}", markup=False)
        dirs = [i.run_dir for i in filter_runs(infos, filter_ or [])]
        if not dirs:
            err_console().print("no runs match the filters; nothing deleted", markup=False)
            return
    summaries = [check_removable(d) for d in dirs]  # raises before anything is deleted
    if dry_run:
        for d in dirs:
            print(d.name, flush=True)
        err_console().print(
            f"dry run: would delete {len(dirs)} run(s); nothing deleted", markup=False
        )
        return
    if not yes:
        console = err_console()
        for d, s in zip(dirs, summaries):
            console.print(f"  {d}  ({s.name}, {s.status})", markup=False)
        # Not typer.confirm: it writes a stray space to stdout, which belongs to results.
        console.print(f"Delete {len(dirs)} run(s)? [y/N] ", end="", markup=False)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            console.print("nothing deleted")
            raise typer.Exit(EXIT_FAILED)
    for d in dirs:
        remove_run(d)
        print(d.name, flush=True)
