"""``nnctl runs``: the command group. One module per command: ``listing`` (list), ``show``,
``compare``, ``remove`` (rm) and ``track``; ``cells`` writes values in their tables,
``options`` holds the options several declare."""

from __future__ import annotations

import typer

from nnctl.cli.runs import compare, listing, remove, show, track
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

runs_app = typer.Typer(
    help="List, show, compare, remove and track runs.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl runs list --sort -test_accuracy
nnctl runs show latest
nnctl runs rm --filter created<30d --filter status!=complete --dry-run""",
)

# (name, command, its line in `nnctl runs --help`, its examples), in the help's order.
for _name, _fn, _short, _examples in (
    (
        "list",
        listing.runs_list,
        "One row per run; choose columns, filters and format.",
        listing.EXAMPLES,
    ),
    ("show", show.runs_show, "A run's config, summary, model and cost curve.", show.EXAMPLES),
    (
        "compare",
        compare.runs_compare,
        "Runs side by side: metrics and differing config keys.",
        compare.EXAMPLES,
    ),
    ("rm", remove.runs_rm, "Delete runs, named or matching filters.", remove.EXAMPLES),
    (
        "track",
        track.runs_track,
        "Write runs to MLflow or TensorBoard, from their directories.",
        track.EXAMPLES,
    ),
):
    runs_app.command(_name, cls=NnctlCommand, short_help=_short, epilog=_examples)(_fn)
