"""``nnctl data inspect`` and ``nnctl data import``, and the progress of decoding image files
(also drawn by ``nnctl train``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    JsonOption,
    SetOption,
    at_least,
    err_console,
    handle_errors,
    out_console,
    print_json,
    print_warning,
)
from nnctl.cli.usage import HELP_OPTIONS, NnctlCommand, NnctlGroup

data_app = typer.Typer(
    help="Look at a dataset, or convert one to a course-style HDF5 file.",
    short_help="Inspect a dataset; import one as course-style HDF5.",
    cls=NnctlGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog="""\
nnctl data inspect data/examples/shapes
nnctl data import data/examples/shapes -o data/shapes.h5 --size 64x64""",
)


PLAIN_MIN = 256  # fewer files decode in a moment: no progress lines in a log


def decoding_progress(what: str = "decoding images") -> Callable[[int, int], None]:
    """A callback ``(done, total)`` drawing a rich progress bar on a terminal, else a plain line
    at each quarter of the files (stderr) when there are at least ``PLAIN_MIN`` of them."""
    from nnctl.cli.display import animate

    console = err_console()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if animate(console):
            if "bar" not in state:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

                state["bar"] = Progress(
                    TextColumn(what),
                    MofNCompleteColumn(),
                    BarColumn(),
                    console=console,
                    transient=True,
                )
                state["bar"].start()
                state["task"] = state["bar"].add_task(what, total=total)
            state["bar"].update(state["task"], completed=done)
            if done >= total:
                state.pop("bar").stop()
            return
        step = max(1, -(-total // 4))
        if total >= PLAIN_MIN and (done == total or done % step == 0):
            console.print(f"{what}: {done}/{total}")

    return update


def _spec(
    path: Path, set_: list[str] | None, size: str | None, color: str | None, skip_bad: bool
) -> tuple[dict[str, Any], str | None]:
    """The dataset mapping for PATH: a config's ``dataset`` (PATH ending in .yaml/.yml), or
    ``{train: PATH}`` with the reading options given."""
    if path.suffix.lower() in (".yaml", ".yml"):
        from nnctl.config import load_config

        cfg = load_config(path, set_ or [])
        if "synthetic" in cfg.dataset:
            from nnctl.system import ConfigError

            raise ConfigError(
                f"{path}: the dataset is the synthetic generator {cfg.dataset['synthetic']}; "
                "there are no files to inspect"
            )
        return dict(cfg.dataset), cfg.path
    if set_:
        from nnctl.system import UsageError

        raise UsageError(f"--set changes a config's keys; {path} is a data path, not a YAML config")
    spec: dict[str, Any] = {"train": str(path)}
    if size is not None:
        spec["size"] = _size(size)
    if color is not None:
        spec["color"] = color
    spec["skip_bad"] = skip_bad
    return spec, None


def _size(text: str) -> list[int]:
    from nnctl.system import UsageError

    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--size {text!r}: expected HEIGHTxWIDTH, e.g. 64x64")
    return [int(p) for p in parts]


SizeOption = Annotated[
    str | None,
    typer.Option(
        "--size",
        metavar="HxW",
        help="Image size, e.g. 64x64 [default: the first image's].",
        show_default=False,
    ),
]
ColorOption = Annotated[
    str | None,
    typer.Option(
        "--color",
        metavar="rgb|grayscale",
        help="Image colour mode [default: rgb].",
        show_default=False,
    ),
]
SkipBadOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad", help="Skip unreadable image files (one warning each) instead of stopping."
    ),
]


@data_app.command(
    "inspect",
    cls=NnctlCommand,
    short_help="Describe a dataset: kind, splits, classes, ranges.",
    epilog="""\
nnctl data inspect data/examples/shapes --size 16x16
nnctl data inspect configs/flowers_csv.yaml --json
""",
)
@handle_errors
def inspect(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH|CONFIG",
            help="A data file, an image folder, or a YAML config.",
            show_default=False,
        ),
    ],
    set_: SetOption = None,
    size: SizeOption = None,
    color: ColorOption = None,
    skip_bad: SkipBadOption = False,
    json_: JsonOption = False,
) -> None:
    """Describe a dataset: kind, examples per split and class, features or image size, value
    ranges, non-finite cells, examples in both train and test, class balance."""
    from nnctl.commands import inspect as inspect_data
    from nnctl.data import resolve_path

    if color is not None and color not in ("rgb", "grayscale"):
        from nnctl.system import UsageError

        raise UsageError(f"--color {color!r}: valid: rgb, grayscale")
    spec, config_file = _spec(path, set_, size, color, skip_bad)
    if config_file is None:
        spec["train"] = str(resolve_path(spec["train"]))
    info = inspect_data(spec, config_file, decoding_progress())
    for warning in info["warnings"]:
        print_warning(warning)
    if json_:
        print_json(info)
        return
    _print_inspection(info)


def _print_inspection(info: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from nnctl.system import printable, quote_list

    console = out_console()
    shape = (
        f"images {'x'.join(map(str, info['image_size']))}"
        if "image_size" in info
        else f"{info['features']} features"
    )
    console.print(
        f"kind: {info['kind']}, {shape}"
        # a few classes, escaped: a folder may be named like rich markup ("[/]")
        + (f", classes: {escape(quote_list(info['classes'], 10))}" if info["classes"] else "")
    )
    table = Table(show_header=True, title_justify="left")
    for col in ("split", "path", "examples", "per class", "min", "max", "non-finite"):
        table.add_column(
            col, justify="right" if col in ("examples", "min", "max", "non-finite") else "left"
        )
    for role, s in info["splits"].items():
        per = quote_list([f"{k}: {v}" for k, v in (s.get("per_class") or {}).items()], 10) or "-"
        table.add_row(
            role,
            escape(printable(s["path"])),  # a folder name need not be UTF-8
            str(s["examples"]),
            escape(per),
            "-" if s.get("min") is None else f"{s['min']:g}",
            "-" if s.get("max") is None else f"{s['max']:g}",
            str(s.get("non_finite_cells", 0)),
        )
    console.print(table)
    ranges = info["splits"]["train"].get("feature_ranges") or {}
    if ranges and len(ranges) <= 50:
        features = Table(title="features (train)", title_justify="left")
        for col in ("feature", "min", "max"):
            features.add_column(col, justify="left" if col == "feature" else "right")
        for name, r in ranges.items():
            features.add_row(
                escape(name), *(("-", "-") if r is None else (f"{r[0]:g}", f"{r[1]:g}"))
            )
        console.print(features)
    if "duplicates_train_test" in info:
        console.print(f"examples in both train and test: {info['duplicates_train_test']}")
    if info.get("class_balance") is not None:
        console.print(f"class balance (smallest / largest class, train): {info['class_balance']:g}")
    if info.get("read_in_blocks"):
        console.print(
            "(read block by block: the data is larger than memory; examples in both splits "
            "found by digests of their bytes)"
        )


def _at_least_0(value: int | None) -> int | None:
    return at_least(0, value)


@data_app.command(
    "import",
    cls=NnctlCommand,
    short_help="Write an image folder (or any data) as course-style HDF5.",
    epilog="""\
nnctl data import photos/train -o train.h5 --size 64x64
nnctl data import photos/test -o test.h5 --size 64x64 --prefix test_set
""",
)
@handle_errors
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            help="An image folder (one subfolder per class) or any data file.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "-o", "--output", metavar="FILE", help="The HDF5 file to write.", show_default=False
        ),
    ],
    size: SizeOption = None,
    color: ColorOption = None,
    skip_bad: SkipBadOption = False,
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            metavar="NAME",
            help="Array names: PREFIX_x, PREFIX_y (test_set for a test file).",
        ),
    ] = "train_set",
    shuffle: Annotated[
        int | None,
        typer.Option(
            "--shuffle",
            metavar="SEED",
            callback=_at_least_0,
            help="Write the examples in a random order drawn from SEED (0 or more) instead of "
            "class then file order (for streamed training).",
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Write a course-style HDF5 file (PREFIX_x uint8 (m, h, w, c), PREFIX_y, list_classes),
    chunked along the examples, atomically; print its path."""
    from rich.markup import escape

    from nnctl.commands import import_h5
    from nnctl.data import resolve_path
    from nnctl.system import quote_list

    if color is not None and color not in ("rgb", "grayscale"):
        from nnctl.system import UsageError

        raise UsageError(f"--color {color!r}: valid: rgb, grayscale")
    spec, _ = _spec(path, None, size, color, skip_bad)
    info = import_h5(resolve_path(str(path)), out, spec, prefix, decoding_progress(), shuffle)
    for warning in info["warnings"]:
        print_warning(warning)
    if json_:
        print_json(info)
        return
    err_console().print(
        f"{info['examples']} examples, {info['x']} {info['dtype']} {tuple(info['shape'])}"
        + (f", classes {escape(quote_list(info['classes'], 10))}" if info["classes"] else "")
        + (f", shuffled (seed {info['shuffled']})" if info["shuffled"] is not None else "")
    )
    print(info["path"], flush=True)
