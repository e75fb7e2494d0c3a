"""``nnctl config show`` and ``nnctl config check``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import EXIT_USAGE, SetOption, handle_errors, print_error, print_warning

config_app = typer.Typer(
    help="Show the resolved config, or check config files.", no_args_is_help=True, rich_markup_mode=None
)

NoDataOption = Annotated[
    bool,
    typer.Option(
        "--no-data",
        help="Do not load the dataset: skip the data checks and leave layer_dims[0] as written (e.g. auto).",
    ),
]


@config_app.command("show")
@handle_errors
def config_show(
    config: Annotated[Path, typer.Argument(help="YAML config file.", show_default=False)],
    set_: SetOption = None,
    no_data: NoDataOption = False,
) -> None:
    """Print the fully resolved config as YAML: exactly what train would save in config.yaml."""
    from nnctl.config import dump_config, load_config

    cfg = load_config(config, set_ or [])
    if not no_data:
        from nnctl.binding import bind

        cfg = bind(cfg).cfg
    sys.stdout.write(dump_config(cfg))


@config_app.command("check")
@handle_errors
def config_check(
    configs: Annotated[list[Path], typer.Argument(help="YAML config files.", show_default=False)],
    set_: SetOption = None,
    no_data: NoDataOption = False,
) -> None:
    """Validate config files (and their data): "ok FILE" on stdout or one error line on stderr
    per file; exit 0 if all are valid, else 2."""
    from nnctl.config import load_config
    from nnctl.errors import NnctlError

    bad = 0
    for path in configs:
        try:
            cfg = load_config(path, set_ or [])
            if not no_data:
                from nnctl.binding import bind

                bind(cfg)
        except NnctlError as exc:
            bad += 1
            # Data errors name the data file; say which config led there.
            message = str(exc)
            print_error(message if message.startswith(str(path)) else f"{path}: {message}")
            continue
        for warning in cfg.warnings():
            print_warning(warning)
        print(f"ok {path}", flush=True)
    if bad:
        raise typer.Exit(EXIT_USAGE)
