"""``nnctl serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from nnctl.cli.common import (
    RunsDirOption,
    ScoringThreadsOption,
    at_least,
    err_console,
    handle_errors,
)


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise typer.BadParameter(f"must be a TCP port, 0 to 65535 (0: any free port), got {value}")
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"must be more than 0, got {value:g}")
    return value


def _not_negative(value: float) -> float:
    if not value >= 0:
        raise typer.BadParameter(f"must be 0 or more, got {value:g}")
    return value


@handle_errors
def serve(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            help="Runs to serve: run directories, run ids, unique id prefixes, or 'latest'.",
            show_default=False,
        ),
    ],
    host: Annotated[
        str,
        typer.Option(
            "--host", metavar="ADDRESS", help="Address to listen on (0.0.0.0: every interface)."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="N", callback=_port, help="TCP port (0: any free one).")
    ] = 8000,
    max_batch: Annotated[
        int,
        typer.Option(
            "--max-batch",
            metavar="N",
            callback=lambda v: at_least(1, v),
            help="Most examples answered in one forward pass (1: each request on its own; a "
            "request with more is answered alone).",
        ),
    ] = 32,
    max_wait_ms: Annotated[
        float,
        typer.Option(
            "--max-wait-ms",
            metavar="MS",
            callback=_not_negative,
            help="How long a request waits for others to share its forward pass.",
        ),
    ] = 2.0,
    max_body: Annotated[
        int,
        typer.Option(
            "--max-body",
            metavar="BYTES",
            callback=lambda v: at_least(1, v),
            help="Largest request body; larger ones get 413 before they are read.",
        ),
    ] = 16 * 2**20,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            callback=_positive,
            help="Time a client has to send a request's body, once its head has arrived.",
        ),
    ] = 30.0,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            metavar="SECONDS",
            callback=_positive,
            help="Time a client has to send a request's head (request line and headers), "
            "from connecting or from its previous answer; an idle connection, or one whose "
            "client reads nothing of its answer for that long, is closed.",
        ),
    ] = 10.0,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            metavar="N",
            callback=lambda v: at_least(1, v),
            help="Most connections open at once; one more is answered 503 and closed.",
        ),
    ] = 1000,
    threads: ScoringThreadsOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Serve runs over HTTP: POST /v1/models/RUN/predict answers as predict --json does (JSON
    feature rows, or images as the body or multipart/form-data); GET /v1/models, GET /healthz,
    and GET / (a page to try them). Prints the address on stdout; serves until Ctrl-C or
    SIGTERM, finishing requests in flight (needs: pip install 'nnctl[serve]')."""
    from nnctl.serve import ServeOptions, import_stack, load_models
    from nnctl.serve import serve as run_server

    import_stack()
    models = load_models(runs, runs_dir)
    options = ServeOptions(
        host=host,
        port=port,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_body=max_body,
        timeout=timeout,
        threads=threads,
        header_timeout=header_timeout,
        max_connections=max_connections,
    )
    ids = sorted({m.id for m in models.values()})

    def ready(url: str) -> None:
        print(url, flush=True)
        err_console().print(f"serving {', '.join(ids)} at {url} (Ctrl-C to stop)")

    run_server(models, options, ready)
    err_console().print("stopped: every accepted request was answered")


EXAMPLES = """\
nnctl serve latest
nnctl serve latest --port 8080 --max-batch 64
curl -s localhost:8000/v1/models/RUN_ID/predict -H 'Content-Type: image/jpeg' --data-binary @cat.jpg
"""
