"""``nnctl config show``, ``nnctl config check`` and ``nnctl config schema``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.common import (
    EXIT_USAGE,
    ConfigArg,
    SetOption,
    _complete_config,
    err_console,
    handle_errors,
    print_error,
    print_json,
    print_warning,
)
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

config_app = typer.Typer(
    help="Show the resolved config, check config files, or print the config's JSON Schema.",
    short_help="Show or check configs; print their JSON Schema.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl config show configs/cat_deep.yaml
nnctl config check configs/*.yaml
nnctl config schema > nnctl-config.schema.json""",
)

NoDataOption = Annotated[
    bool,
    typer.Option(
        "--no-data",
        help=(
            "Do not load the dataset: skip the data checks and leave layer_dims[0] as written "
            "(e.g. auto)."
        ),
    ),
]


@config_app.command(
    "show",
    cls=NnctlCommand,
    short_help="Print the resolved config (and a model summary).",
    epilog="""\
nnctl config show configs/cat_deep.yaml
nnctl config show configs/moons.yaml --set optimizer=adam --no-data
nnctl config show configs/cat_deep.yaml --json | jq .model.params
""",
)
@handle_errors
def config_show(
    config: ConfigArg,
    set_: SetOption = None,
    no_data: NoDataOption = False,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help='Print {"config": ..., "model": ...} as one JSON object on stdout.'
        ),
    ] = False,
) -> None:
    """Print the fully resolved config as YAML: exactly what train would save in config.yaml.
    On a terminal a model summary (layers, parameters, memory, FLOPs per example) follows on
    stderr; --json carries it as "model"."""
    from nnctl.config import dump_config, load_config
    from nnctl.core import summarize, summary_lines

    cfg = load_config(config, set_ or [])
    batch = cfg.batch_size
    if not no_data:
        from nnctl.training import bind

        bound = bind(cfg)
        cfg = bound.cfg
        batch = min(batch or len(bound.train_idx), len(bound.train_idx))
    norm = cfg.batch_norm["layers"] if cfg.batch_norm else None
    model = summarize(cfg.layer_dims, cfg.activations, cfg.dtype, batch, norm)
    if json_:
        print_json({"config": cfg.to_dict(), "model": model.to_json() if model else None})
        return
    sys.stdout.write(dump_config(cfg))
    sys.stdout.flush()
    console = err_console()
    # The summary is for a person; scripts get stdout alone (or --json).
    if model is not None and console.is_terminal:
        console.print("\nmodel", markup=False)
        for line in summary_lines(model):
            console.print(line, markup=False)


@config_app.command(
    "check",
    cls=NnctlCommand,
    short_help="Validate config files and their data.",
    epilog="""\
nnctl config check configs/*.yaml
nnctl config check configs/moons.yaml --set learning_rate=0 --no-data
""",
)
@handle_errors
def config_check(
    configs: Annotated[
        list[Path],
        typer.Argument(
            metavar="CONFIG...",
            help="YAML config files.",
            show_default=False,
            autocompletion=_complete_config,
        ),
    ],
    set_: SetOption = None,
    no_data: NoDataOption = False,
) -> None:
    """Validate config files (and their data): "ok FILE" on stdout or one error line on stderr
    per file; exit 0 if all are valid, else 2."""
    from nnctl.config import load_config
    from nnctl.system import NnctlError

    bad = 0
    for path in configs:
        try:
            cfg = load_config(path, set_ or [])
            if not no_data:
                from nnctl.training import bind

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


@config_app.command(
    "schema",
    cls=NnctlCommand,
    short_help="Print the config's JSON Schema, for editors.",
    epilog="""\
nnctl config schema > nnctl-config.schema.json
""",
)
@handle_errors
def config_schema() -> None:
    """Print the config's JSON Schema (generated from nnctl's key table). Save it and put
    '# yaml-language-server: $schema=nnctl-config.schema.json' at the top of a config: editors
    with a YAML language server then complete, document and check its keys."""
    import json

    from nnctl.config import config_schema as schema

    sys.stdout.write(json.dumps(schema(), indent=2) + "\n")
