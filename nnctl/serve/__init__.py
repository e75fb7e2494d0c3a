"""``nnctl serve``: trained runs as a local HTTP service (the ``serve`` extra: Starlette and
uvicorn, imported only here). ``models`` (the runs served, requests' inputs as raw examples),
``bodies`` (request bodies read within a size limit and a timeout, multipart in memory),
``connections`` (a request head within a timeout and connections within a number, which uvicorn
alone does not bound: slow and idle clients cannot hold the server),
``batching`` (concurrent requests answered in micro-batches: one forward pass), ``app`` (the
routes and their JSON errors), ``page`` (``GET /``: a page to try the models), ``server``
(uvicorn: bind, serve, finish in-flight requests on SIGTERM). Predictions go through
``nnctl predict``'s forward pass; nothing a request sends is written to disk."""

import lazy_loader as lazy

# Public names, imported from their module on first use: `nnctl --help` imports no Starlette.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "app": ["create_app"],
        "batching": ["MicroBatcher"],
        "bodies": ["RequestError"],
        "models": ["ServedModel", "load_models"],
        "server": ["ServeOptions", "import_stack", "serve"],
    },
)
