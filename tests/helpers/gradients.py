"""For the tests that check a backward pass: central differences over a network's parameters,
and reading ``nnctl gradcheck --json``."""

from __future__ import annotations

import json

import numpy as np

from nnctl.core.network import Params


def numeric_grads(f, params: Params, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of f() over every entry of every W and b (W1..WL then b1..bL)."""
    out = []
    for arr in (*params.Ws, *params.bs):
        g = np.zeros_like(arr)
        for ix in np.ndindex(arr.shape):
            old = arr[ix]
            arr[ix] = old + eps
            plus = f()
            arr[ix] = old - eps
            minus = f()
            arr[ix] = old
            g[ix] = (plus - minus) / (2 * eps)
        out.append(g)
    return out


def run_json(cli, *args: str) -> tuple[int, dict, str]:
    """``nnctl gradcheck ARGS --json``: (exit code, the report, stderr)."""
    r = cli("gradcheck", *args, "--json")
    return r.exit_code, json.loads(r.stdout), r.stderr


def by_param(report: dict) -> dict[str, dict]:
    """A JSON report's checks by parameter name ("W1", "b1", ...)."""
    return {c["parameter"]: c for c in report["checks"]}
