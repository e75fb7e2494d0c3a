"""Connections bounded in time and in number, which uvicorn alone does not bound: its keep-alive
timer runs only between requests and any byte received cancels it, and nothing times the
request head, so a client that opens a connection and sends nothing, or its head a byte at a
time (slowloris), would hold that connection for ever. uvicorn's own HTTP protocol (h11, or
httptools when installed) is subclassed with two bounds:

- ``header_timeout``: from the moment a connection opens, or its previous answer is sent, the
  client has that many seconds to send a complete request head (request line and headers).
  Otherwise the connection is closed: with a 408 JSON error if part of a head had arrived,
  silently if it was idle (an unasked-for answer on an idle keep-alive connection would be
  read as the answer to the client's next request). The body then has ``--timeout`` (``bodies``).
  A client still taking its previous answer gets that long again each time it has read some of
  it; one that reads none of it for that long is cut off, and the unsent answer dropped (uvicorn
  hands a whole answer to the transport, which would keep it in memory until the client reads).
- ``max_connections``: a connection beyond that many open gets a 503 JSON error and is closed
  at once, so idle connections cannot use up the process's file descriptors."""

from __future__ import annotations

import json
import struct
import sys
from http import HTTPStatus
from typing import Any

# Linux's count of the bytes a socket has queued but its peer has not acknowledged: with the
# transport's own buffer, what of an answer the client has not yet taken
_OUTQ = None
if sys.platform.startswith("linux"):
    import termios

    _OUTQ = getattr(termios, "TIOCOUTQ", None)


def unsent(transport: Any) -> int:
    """Bytes written to ``transport`` that its peer has not yet received: the transport's
    buffer, and (on Linux) the kernel's send queue."""
    n = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if _OUTQ is not None and sock is not None:
        import fcntl

        try:
            n += struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
        except OSError:  # not a TCP socket, or one already closed
            pass
    return n


def raw_error(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 answer ``{"error": message}`` that closes the connection, for a
    connection no request on which is being answered."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def bounded_protocol(base: type, header_timeout: float, max_connections: int) -> type:
    """A subclass of uvicorn's HTTP protocol class ``base`` (``H11Protocol`` or
    ``HttpToolsProtocol``: both keep ``connections``, ``cycle``, ``transport`` and ``loop``, and
    call ``on_response_complete`` after each answer) with the two bounds above."""

    class BoundedProtocol(base):  # type: ignore[misc, valid-type]
        _head_timer: Any = None
        _awaited: Any = None  # the request cycle current when the wait for a head began
        _head_started = False
        _unsent = 0  # bytes of the previous answer not yet taken by the client, when last seen

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self.transport.write(
                    raw_error(
                        503,
                        f"the server has {max_connections} connections open, its limit "
                        "(--max-connections); try again shortly",
                    )
                )
                self.transport.close()
                return
            self._await_head()

        def data_received(self, data: bytes) -> None:
            self._head_started = self._head_started or bool(data)
            super().data_received(data)

        def on_response_complete(self) -> None:
            # armed before the base class starts a pipelined request: that request's head
            # then counts as arrived (a new cycle), and the timer leaves the connection alone
            self._await_head()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _await_head(self) -> None:
            self._cancel_head_timer()
            self._awaited, self._head_started = self.cycle, False
            self._unsent = unsent(self.transport)
            self._head_timer = self.loop.call_later(header_timeout, self._head_late)

        def _head_late(self) -> None:
            self._head_timer = None
            if self.transport is None or self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is not self._awaited or (cycle is not None and not cycle.response_complete):
                return  # a head arrived in time: its request is being (or has been) answered
            left = unsent(self.transport)
            if left:  # the previous answer is still being taken
                if left < self._unsent:  # and the client has read some of it meanwhile
                    self._unsent = left
                    self._head_timer = self.loop.call_later(header_timeout, self._head_late)
                else:  # it reads nothing: drop the answer rather than keep it in memory
                    self.transport.abort()
                return
            if self._head_started:
                self.transport.write(
                    raw_error(
                        408,
                        f"request head not received within {header_timeout:g} s (--header-timeout)",
                    )
                )
            self.transport.close()

    BoundedProtocol.__name__ = BoundedProtocol.__qualname__ = f"Bounded{base.__name__}"
    return BoundedProtocol
