"""``nnctl sweep``: the command group. ``commands`` holds run, resume, check and show;
``display`` what they show while trials run; ``outcome`` the table and best run they end with.
Only ``commands`` is imported for ``nnctl --help``: the library's sweep package (and Dask and
Optuna with it) is imported only when a sweep command runs."""

from __future__ import annotations

import typer

from nnctl.cli.sweep import commands
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

sweep_app = typer.Typer(
    help="Hyperparameter sweeps: trials searched with Optuna, trained on Dask, chosen on "
    "validation data (needs: pip install 'nnctl[sweep]').",
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

# (name, command, its line in `nnctl sweep --help`, its examples), in the help's order.
for _name, _fn, _short, _examples in (
    ("run", commands.sweep_run, "Run a sweep; print the best run's id.", commands.RUN_EXAMPLES),
    (
        "resume",
        commands.sweep_resume,
        "Continue an interrupted sweep.",
        commands.RESUME_EXAMPLES,
    ),
    (
        "check",
        commands.sweep_check,
        "Check a sweep file and its trial configs.",
        commands.CHECK_EXAMPLES,
    ),
    (
        "show",
        commands.sweep_show,
        "A sweep's table of trials and its best run.",
        commands.SHOW_EXAMPLES,
    ),
):
    sweep_app.command(_name, cls=NnctlCommand, short_help=_short, epilog=_examples)(_fn)
