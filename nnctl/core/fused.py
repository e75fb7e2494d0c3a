"""Compiled, fused optimizer updates: one pass over the parameters instead of numpy's many.

Adam's update in numpy is fourteen passes over all parameters (each operation of the formula
is one ufunc call over the flat buffers, ``nnctl.core.optimizers``); RMSprop's nine, momentum's
five.
Compiled into one loop (numba, the optional ``fast`` extra) each value is read and written once.
Every operation is the formula's own, in its order and in the run's dtype, with no fused
multiply-add (numba does not contract ``a * b + c`` unless asked to), so the results are those
of the numpy passes bit for bit: a test runs both on every machine and compares the bits.

What that saves, and what importing numba costs: docs/developers/measured-core.md.

Importing numba (LLVM) costs more than a short run's updates take, so by default
(``auto``) the compiled update is used only when the run's numpy updates would take longer than
``WORTH_SECONDS``; ``NNCTL_COMPILED=always`` or ``never`` decides instead. Without numba the
numpy passes are used, with the same results. Compiled code is cached under nnctl's cache
directory (``nnctl.system.filehash.cache_dir``), so only the first run compiles.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

ENV = "NNCTL_COMPILED"
SETTINGS = ("auto", "always", "never")
# numpy's time per parameter value and update (ns, by itemsize), and the share of it a compiled
# update saves: measurements, docs/developers/measured-core.md
NUMPY_NS = {
    "adam": {4: 1.44, 8: 3.71},
    "momentum": {4: 0.55, 8: 1.3},
    "rmsprop": {4: 1.0, 8: 2.6},
}
SAVED_SHARE = 0.6
# auto compiles when the updates would save more than this (seconds; twice numba's import)
WORTH_SECONDS = 1.0

_kernels: dict[str, Callable[..., None]] | None = None
_failed: str | None = None


def setting() -> str:
    """``NNCTL_COMPILED`` (auto, always or never; default auto). Raises ConfigError for
    anything else (``binding.bind`` asks first, so a typo stops a run before it starts)."""
    from nnctl.system import ConfigError

    text = os.environ.get(ENV, "")
    value = text.strip().lower() or "auto"
    if value not in SETTINGS:
        raise ConfigError(f"{ENV}={text}: expected one of {', '.join(SETTINGS)}")
    return value


def worth_it(rule: str, n_values: int, itemsize: int, steps: int) -> bool:
    """Whether compiling ``rule``'s update pays for a run of ``steps`` updates of ``n_values``
    parameters of ``itemsize`` bytes (the ``auto`` setting's test)."""
    per_value = NUMPY_NS.get(rule, {}).get(itemsize)
    if per_value is None:
        return False
    return steps * n_values * per_value * 1e-9 * SAVED_SHARE > WORTH_SECONDS


def kernel(rule: str) -> Callable[..., None] | None:
    """The compiled update ``rule`` ("adam", "momentum" or "rmsprop"), or None when numba is
    missing or cannot compile here (the numpy passes are then used)."""
    global _kernels, _failed
    if _kernels is None and _failed is None:
        try:
            _kernels = _compile()
        except Exception as exc:
            _failed = f"{type(exc).__name__}: {exc}"
    return None if _kernels is None else _kernels.get(rule)


def warm(rule: str, dtype: np.dtype) -> None:
    """Makes ``rule``'s kernel ready for ``dtype`` (numba compiles, or loads from its cache, a
    version per dtype at its first call): called on empty arrays, it updates nothing."""
    k = kernel(rule)
    if k is None:
        return
    e = np.empty(0, dtype=dtype)
    if rule == "adam":
        k(e, e, e, e, *as_dtype((0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 0.01, 1e-8), dtype))
    elif rule == "rmsprop":
        k(e, e, e, *as_dtype((0.9, 0.1, 0.01, 1e-8), dtype))
    else:
        k(e, e, e, *as_dtype((0.9, 0.1, 0.01), dtype))


def unavailable_reason() -> str | None:
    """Why ``kernel`` returned None (after it was asked), for the summary."""
    return _failed


def _compile() -> dict[str, Callable[..., None]]:
    from nnctl.system import cache_dir

    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    import numba

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @jit
    def adam(
        p: Any,
        g: Any,
        v: Any,
        s: Any,
        b1: Any,
        ob1: Any,
        b2: Any,
        ob2: Any,
        c1: Any,
        c2: Any,
        lr: Any,
        eps: Any,
    ) -> None:  # pragma: no cover - compiled
        for i in range(p.size):
            gi = g[i]
            vi = v[i] * b1 + gi * ob1
            si = s[i] * b2 + (gi * gi) * ob2
            v[i] = vi
            s[i] = si
            p[i] = p[i] - ((vi / c1) * lr) / (np.sqrt(si / c2) + eps)

    @jit
    def momentum(
        p: Any, g: Any, v: Any, beta: Any, obeta: Any, lr: Any
    ) -> None:  # pragma: no cover - compiled
        for i in range(p.size):
            vi = v[i] * beta + g[i] * obeta
            v[i] = vi
            p[i] = p[i] - vi * lr

    @jit
    def rmsprop(
        p: Any, g: Any, s: Any, b2: Any, ob2: Any, lr: Any, eps: Any
    ) -> None:  # pragma: no cover - compiled
        for i in range(p.size):
            gi = g[i]
            si = s[i] * b2 + (gi * gi) * ob2
            s[i] = si
            p[i] = p[i] - (gi * lr) / (np.sqrt(si) + eps)

    return {"adam": adam, "momentum": momentum, "rmsprop": rmsprop}


def version() -> str | None:
    """numba's version when the compiled updates are in use."""
    if _kernels is None:
        return None
    import numba

    return str(numba.__version__)


def as_dtype(values: tuple[float, ...], dtype: np.dtype) -> tuple[Any, ...]:
    """Python floats as the run's dtype, as numpy rounds a scalar operand against an array of
    that dtype (NEP 50), so the compiled loop computes with the same constants."""
    t = dtype.type
    return tuple(t(v) for v in values)
