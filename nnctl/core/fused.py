"""Compiled, fused optimizer updates: one pass over the parameters instead of numpy's many.

Adam's update in numpy is fourteen passes over all parameters (each operation of the formula
is one ufunc call over the flat buffers, ``nnctl.core.optimizers``); RMSprop's nine, momentum's
five. Compiled into one loop (``nnctl/core/_fused.c``, a C extension built by the default
install) each value is read and written once. Every operation is the formula's own, in its
order and in the run's dtype, with no fused multiply-add (the build switches contraction off),
so the results are those of the numpy passes bit for bit: a test runs both on every machine and
compares the bits.

Loading the extension costs about a millisecond, so every run with a compiled rule uses it
(``NNCTL_COMPILED=auto``, the default; ``always`` refuses to run without it); ``never`` keeps
numpy's passes. Where the
extension could not be built (no C compiler at install time) the numpy passes run, with the same
results. What it saves: docs/developers/performance.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

ENV = "NNCTL_COMPILED"
SETTINGS = ("auto", "always", "never")
RULES = ("adam", "momentum", "rmsprop")

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
    if value == "always" and kernel("adam") is None:
        raise ConfigError(
            f"{ENV}=always: the compiled updates are not built in this install "
            f"({unavailable_reason()}); reinstall nnctl where a C compiler is found, "
            "or use auto or never"
        )
    return value


def kernel(rule: str) -> Callable[..., None] | None:
    """The compiled update ``rule`` ("adam", "momentum" or "rmsprop"), or None when the
    extension is not built here (the numpy passes are then used). Its arguments: the flat
    buffers (parameters, gradients, then the rule's state, all of one dtype, contiguous), then
    the constants as that dtype (``as_dtype``)."""
    global _kernels, _failed
    if _kernels is None and _failed is None:
        try:
            from nnctl.core import _fused  # type: ignore[attr-defined]

            _kernels = {r: getattr(_fused, r) for r in RULES}
        except ImportError as exc:
            _failed = f"{type(exc).__name__}: {exc}"
    return None if _kernels is None else _kernels.get(rule)


def unavailable_reason() -> str | None:
    """Why ``kernel`` returned None (after it was asked), for messages and tests."""
    return _failed


def as_dtype(values: tuple[float, ...], dtype: np.dtype) -> tuple[Any, ...]:
    """Python floats as the run's dtype, as numpy rounds a scalar operand against an array of
    that dtype (NEP 50), so the compiled loop computes with the same constants."""
    t = dtype.type
    return tuple(t(v) for v in values)
