"""The HTTP routes, as a Starlette app: ``GET /`` (``page``), ``GET /healthz``,
``GET /v1/models`` (the runs served), ``POST /v1/models/{name}/predict`` (JSON rows, or images
as the raw body or multipart/form-data) answered with ``nnctl predict --json``'s records.
Every bad request gets a 4xx JSON ``{"error": "one line"}``, never a traceback, and the server
keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nnctl.serve.batching import MicroBatcher
from nnctl.serve.bodies import RequestError, media_type, multipart_files, read_body

IMAGE_TYPES = ("application/octet-stream",)
"""Raw bodies taken as one image besides image/*: what curl --data-binary and most clients send."""


@dataclass(frozen=True)
class Limits:
    """max_body: the largest request body in bytes; timeout: seconds to receive one."""

    max_body: int = 16 * 2**20
    timeout: float = 30.0


def _error(status: int, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


def _threshold(request: Any) -> float | None:
    """The ``?threshold=P`` of a request (binary classifiers), as ``--threshold`` takes it."""
    given = request.query_params.get("threshold")
    if given is None:
        return None
    try:
        value = float(given)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise RequestError(400, f"threshold {given!r}: a probability strictly between 0 and 1")
    return value


def create_app(models: dict[str, Any], batcher: MicroBatcher, limits: Limits) -> Any:
    """The Starlette app serving ``models`` (``load_models``) through ``batcher``."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    from nnctl.system import NnctlError

    served = list({m.id: m for m in models.values()}.values())

    async def index(request: Any) -> Any:
        from nnctl.serve.page import HEADERS, PAGE

        return HTMLResponse(PAGE, headers=HEADERS)

    async def healthz(request: Any) -> Any:
        return JSONResponse(
            {
                "status": "ok",
                "models": len(served),
                "in_flight": batcher.in_flight,
                "forward_passes": batcher.passes,
                "examples": batcher.examples,
            }
        )

    async def list_models(request: Any) -> Any:
        return JSONResponse({"models": [m.describe() for m in served]})

    async def predict(request: Any) -> Any:
        batcher.in_flight += 1  # counted out by the batcher once it has answered, else here
        handed = False
        try:
            model, names, raw, threshold = await _prepare(request)
            handed = True
            answers = await batcher.predict(model, names, raw, threshold)
            failed = [a for a in answers if isinstance(a, str)]
            if failed:
                more = f" (and {len(failed) - 1} more input(s) failed)" if len(failed) > 1 else ""
                raise RequestError(422, failed[0] + more)
            return JSONResponse([a for a in answers if not isinstance(a, str)])
        except RequestError as exc:
            return _error(exc.status, exc.message)
        except NnctlError as exc:  # the run refuses a setting (threshold on a softmax run)
            return _error(400, str(exc))
        finally:
            if not handed:
                batcher.in_flight -= 1

    async def _prepare(request: Any) -> tuple[Any, list[str], Any, float | None]:
        """The request's model, its examples' names and raw examples, and its threshold."""
        name = request.path_params["name"]
        model = models.get(name)
        if model is None:
            known = ", ".join(sorted(models))  # ids, and names that name one run
            raise RequestError(404, f"no model {name!r} is served; served: {known}")
        threshold = _threshold(request)
        kind = media_type(request)
        if kind not in ("application/json", "multipart/form-data", *IMAGE_TYPES) and not (
            kind.startswith("image/")
        ):
            raise RequestError(
                415,
                f"Content-Type {kind or '(none)'!r} is not taken; send application/json "
                "(feature rows), an image (image/*, application/octet-stream) or "
                "multipart/form-data (images)",
            )
        body = await read_body(request, limits.max_body, limits.timeout)
        # parsed and decoded on a worker thread: the event loop keeps reading other requests
        if kind == "application/json":
            names, raw = await asyncio.to_thread(model.rows, body)
        else:
            if kind == "multipart/form-data":
                files = multipart_files(request.headers["content-type"], body)
            elif body:
                files = [(request.query_params.get("name", "image"), body)]
            else:
                raise RequestError(400, "the body is empty; send the image's bytes")
            names, raw = await asyncio.to_thread(model.images, files)
        return model, names, raw, threshold

    async def http_error(request: Any, exc: Any) -> Any:
        # unknown paths and methods: JSON like every other error
        return _error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")

    async def server_error(request: Any, exc: Exception) -> Any:
        return _error(500, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{name}/predict", predict, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await batcher.close()  # after uvicorn has answered every request it accepted

    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
