"""uvicorn serving the app: the socket bound first (a port in use is a one-line error, and the
address is known before the first request), then served, on uvicorn's HTTP protocol with the
bounds of ``connections``, until SIGINT or SIGTERM, on which uvicorn stops accepting, answers
every request it has accepted, and returns (exit 0)."""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnctl.system import UsageError

INSTALL_HINT = "pip install 'nnctl[serve]'  (or: pip install starlette uvicorn)"


@dataclass(frozen=True)
class ServeOptions:
    """host, port (0: any free port); max_batch examples per forward pass and max_wait_ms a
    request waits for others to share it; max_body bytes per request; timeout seconds to
    receive a body; threads: BLAS threads (None: as predict); header_timeout seconds to
    receive a request's head (to keep an idle connection, and to wait for a client to read some
    of its answer); max_connections open at once."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 32
    max_wait_ms: float = 2.0
    max_body: int = 16 * 2**20
    timeout: float = 30.0
    threads: int | None = None
    header_timeout: float = 10.0
    max_connections: int = 1000


def import_stack() -> Any:
    """The module ``uvicorn`` (Starlette with it). Raises UsageError, saying how to install
    them, when either is missing: ``nnctl serve`` calls it before loading any run."""
    import importlib

    try:
        importlib.import_module("starlette")  # the app's framework (nnctl.serve.app)
        import uvicorn
    except ImportError:
        raise UsageError(
            f"nnctl serve needs Starlette and uvicorn, which are not installed; "
            f"install them with: {INSTALL_HINT}"
        ) from None
    return uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port. Raises UsageError naming the address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r}: not an address this machine has ({exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def serve(
    models: dict[str, Any], options: ServeOptions, ready: Callable[[str], None] | None = None
) -> None:
    """Serves ``models`` (``load_models``) until SIGINT or SIGTERM; ``ready(url)`` is called
    once the socket listens (the CLI prints the address)."""
    from nnctl.serve.app import Limits, create_app
    from nnctl.serve.batching import MicroBatcher
    from nnctl.serve.connections import bounded_protocol

    uvicorn = import_stack()
    # h11, or httptools when it is installed: uvicorn's own choice, with the two bounds
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # after the graceful shutdown the command returns (exit 0) instead of uvicorn
            # raising the signal again, which would end the process with the signal's status
            self._captured_signals.clear()

    batcher = MicroBatcher(options.max_batch, options.max_wait_ms, options.threads)
    app = create_app(models, batcher, Limits(options.max_body, options.timeout))
    sock = bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        http=bounded_protocol(AutoHTTPProtocol, options.header_timeout, options.max_connections),
        ws="none",  # no WebSocket routes: an upgrade request is answered as plain HTTP
        # the head timer closes an idle connection after header_timeout; uvicorn's own
        # keep-alive timer (whole seconds) is never the shorter one
        timeout_keep_alive=math.ceil(options.header_timeout),
        lifespan="on",
    )
    if ready is not None:
        shown = f"[{host}]" if ":" in host else host
        ready(f"http://{shown}:{port}")
    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
