"""Request bodies read whole into memory, within a size limit (413 as soon as the declared or
received size passes it, before the rest is read) and a time limit (a slow client cannot hold a
request open); multipart/form-data parts taken apart in memory (Starlette's form parser spools
large files to a temporary file, and nothing a request sends is written to disk)."""

from __future__ import annotations

import asyncio
from email import policy
from email.parser import BytesParser
from typing import Any

from nnctl.system import human_bytes


class RequestError(Exception):
    """A request that cannot be answered: its HTTP ``status`` (4xx) and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _too_large(size: str, limit: int) -> RequestError:
    return RequestError(
        413, f"request body {size} is over the limit of {human_bytes(limit)} (--max-body)"
    )


async def read_body(request: Any, limit: int, timeout: float) -> bytes:
    """The body of a Starlette ``request``: at most ``limit`` bytes, all within ``timeout``
    seconds. Raises RequestError 413 (too large, refused on its Content-Length before any of it
    is read), 408 (too slow) or 400 (a Content-Length that is no number)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestError(400, f"Content-Length {declared!r} is not a number of bytes")
        if int(declared) > limit:
            raise _too_large(f"of {human_bytes(int(declared))}", limit)
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large("(sent without a Content-Length)", limit)
            chunks.append(chunk)

    from starlette.requests import ClientDisconnect

    try:
        await asyncio.wait_for(collect(), timeout)
    except ClientDisconnect:  # nobody reads the answer; said for the record
        raise RequestError(
            400, "the client closed the connection before sending its body"
        ) from None
    except TimeoutError:
        raise RequestError(
            408, f"request body not received within {timeout:g} s (--timeout)"
        ) from None
    return b"".join(chunks)


def media_type(request: Any) -> str:
    """The request's Content-Type without its parameters, lower case ('' when none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def multipart_files(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """The parts of a multipart/form-data ``body``: (name, bytes) per part, named by its file
    name (else its field name), in order. Raises RequestError 400 for a body with no parts."""
    if "boundary=" not in content_type:
        raise RequestError(400, "multipart/form-data without a boundary in its Content-Type")
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    parts: list[tuple[str, bytes]] = []
    if message.is_multipart():
        for k, part in enumerate(message.iter_parts()):
            name = part.get_filename() or part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            parts.append(
                (str(name or f"part[{k}]"), payload if isinstance(payload, bytes) else b"")
            )
    if not parts:
        raise RequestError(400, "the multipart/form-data body holds no parts (no images)")
    return parts
