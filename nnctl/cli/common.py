"""What more than one command uses: the consoles, error handling (library errors become one
line on stderr and an exit status), JSON output, number formatting, thread limiting, and the
options and arguments several commands declare.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what shells and schedulers expect


def interrupted_status() -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    import signal

    interrupt = sys.modules.get("nnctl.system.interrupt")  # not imported: no handler was installed
    return (
        EXIT_TERMINATED
        if interrupt is not None and interrupt.received() == signal.SIGTERM
        else EXIT_INTERRUPTED
    )


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console() -> Console:
    from rich.console import Console

    # Results piped to a file or another program must not be cut at 80 columns.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Prints one error line to stderr and returns the Exit to raise."""
    print_error(message)
    return typer.Exit(code)


def print_error(message: str) -> None:
    """One "error: ..." line on stderr. The message is escaped: config errors quote values like
    [auto, 20, 7, 1] and 'nnctl[plot]', which rich would otherwise take for markup and drop."""
    from rich.markup import escape

    from nnctl.system.errors import MAX_ERROR_LINE, bounded_line  # short whatever it quotes

    line = bounded_line(message, MAX_ERROR_LINE - len("error: "))
    err_console().print(f"[bold red]error:[/] {escape(line)}", markup=True, soft_wrap=True)


def print_warning(message: str) -> None:
    """One "warning: ..." line on stderr, escaped like ``print_error``."""
    from rich.markup import escape

    from nnctl.system.errors import MAX_ERROR_LINE, bounded_line

    line = bounded_line(message, MAX_ERROR_LINE - len("warning: "))
    err_console().print(f"[bold yellow]warning:[/] {escape(line)}", markup=True, soft_wrap=True)


def print_notice(message: str) -> None:
    """One "notice: ..." line on stderr: how nnctl chose to do something, nothing wrong."""
    from rich.markup import escape

    err_console().print(f"[bold cyan]notice:[/] {escape(message)}", markup=True, soft_wrap=True)


def handle_errors(fn: Callable) -> Callable:
    """Library errors become one line on stderr and their exit status; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from nnctl.system import NnctlError, OptionError

        if "nnctl.system.interrupt" in sys.modules:  # a command before this one, in this process
            sys.modules["nnctl.system.interrupt"].forget()
        try:
            return fn(*args, **kwargs)
        except OptionError as exc:  # the library names the parameter; here it is a flag
            raise fail(f"--{exc.option.replace('_', '-')} {exc.detail}", exc.exit_code) from None
        except NnctlError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except MemoryError:
            # the estimate made before training is approximate; running out is still one line
            raise fail(
                "out of memory; use smaller layers, a batch_size or less data", EXIT_USAGE
            ) from None
        except KeyboardInterrupt:
            err_console().print(
                "terminated (SIGTERM)" if interrupted_status() == EXIT_TERMINATED else "interrupted"
            )
            raise typer.Exit(interrupted_status()) from None

    return wrapper


@contextlib.contextmanager
def library_warnings(show: Callable[[str], None] | None) -> Iterator[None]:
    """Inside the block, each ``NnctlWarning`` the API issues becomes ``show(message)`` at once
    (None: it is not shown, as with --quiet), whatever Python's warning filters say; other
    warnings are shown as Python shows them."""
    import warnings

    from nnctl.api.errors import NnctlWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", NnctlWarning)  # a repeated message is a new line too
        python_shows = warnings.showwarning

        def showwarning(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, NnctlWarning):
                python_shows(message, category, *args, **kwargs)
            elif show is not None:
                show(str(message))

        warnings.showwarning = showwarning
        yield


def print_json(obj: Any) -> None:
    import json  # here, not at the top: `nnctl --help` imports no json

    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


def fmt(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _complete(kind: str, incomplete: str) -> list[str]:
    """Shell completion: candidates from ``nnctl.cli.complete``, imported only on a Tab press."""
    from nnctl.cli import complete

    return getattr(complete, kind)(incomplete)


def at_least(n: int, value: int | None) -> int | None:
    """An option's lower bound, said in words (click's own reads "not in the range x>=1")."""
    if value is not None and value < n:
        raise typer.BadParameter(f"must be {n} or more, got {value}")
    return value


def _complete_run(incomplete: str) -> list[str]:
    return _complete("run_ids", incomplete)


def _complete_config(incomplete: str) -> list[str]:
    return _complete("config_files", incomplete)


def _complete_set(incomplete: str) -> list[str]:
    return _complete("set_keys", incomplete)


def _at_least_1(value: int | None) -> int | None:
    return at_least(1, value)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a config key (value parsed as YAML; repeatable), e.g. "
        "--set learning_rate=0.01.",
        autocompletion=_complete_set,
    ),
]
RunsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        envvar="NNCTL_RUNS_DIR",
        metavar="DIR",
        help="Directory that holds the run directories [default: ./runs].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def dask_options(what: str) -> tuple[Any, Any]:
    """The ``--workers`` and ``--scheduler`` options of a command whose ``what`` ("the folds")
    can run as Dask tasks (``nnctl.sweep.engine.tasks``), as (workers, scheduler) types."""
    workers = Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help=f"Run {what} as tasks on a local Dask cluster of N worker processes, one BLAS "
            "thread each (the 'sweep' extra) [default: one after another].",
            show_default=False,
        ),
    ]
    scheduler = Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:PORT",
            help=f"Run {what} as tasks on the Dask cluster of this scheduler (the 'sweep' extra).",
            show_default=False,
        ),
    ]
    return workers, scheduler


ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        callback=_at_least_1,
        metavar="N",
        help="Use N BLAS threads, recorded in the run and kept by --resume [default: chosen per "
        "run: one thread for small products or a busy machine, else one per free core; "
        "OMP_NUM_THREADS / OPENBLAS_NUM_THREADS when set].",
        show_default=False,
    ),
]


ScoringThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        callback=_at_least_1,
        metavar="N",
        help="Use N BLAS threads [default: one thread for small products or a busy machine, else "
        "one per free core; OMP_NUM_THREADS / OPENBLAS_NUM_THREADS when set].",
        show_default=False,
    ),
]


def limit_threads(n: int | None) -> contextlib.AbstractContextManager[None]:
    """Limits the BLAS thread pools to ``n`` threads inside the block (``nnctl.system``'s
    ``blas_threads``); ``None`` leaves them as the environment configured them."""
    from nnctl.system import blas_threads  # imported by a command, not by `nnctl --help`

    return blas_threads(n)


RunsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="RUN...",
        help="Runs: a run directory, a run id, a unique id prefix, or 'latest'.",
        show_default=False,
        autocompletion=_complete_run,
    ),
]
RunArg = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="A run directory, a run id, a unique id prefix, or 'latest'.",
        show_default=False,
        autocompletion=_complete_run,
    ),
]
ConfigArg = Annotated[
    Path,
    typer.Argument(
        metavar="CONFIG",
        help="YAML config file.",
        show_default=False,
        autocompletion=_complete_config,
    ),
]


def _find_runs(specs: list[str], runs_dir: Path | None) -> list[Path]:
    from nnctl.runs import default_runs_dir, find_run

    return [find_run(spec, runs_dir or default_runs_dir()) for spec in specs]


def _threshold(value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


ThresholdOption = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        callback=_threshold,
        metavar="P",
        help="Binary classifiers: predict the positive class when its probability is above P "
        "[default: 0.5].",
        show_default=False,
    ),
]


def _load(run: str, runs_dir: Path | None) -> Any:
    from nnctl.runs import default_runs_dir, find_run, load_run

    return load_run(find_run(run, runs_dir or default_runs_dir()))
