"""Stopping a training cleanly on SIGINT (Ctrl-C) and SIGTERM (``kill``, ``timeout``, batch
schedulers, container stops).

The CLI installs the handlers (``handle_signals``) for the length of a command. Outside a
``deferred()`` block a signal raises KeyboardInterrupt at once, as Python's own Ctrl-C does.
Inside one (the training loop, the final save) the first signal is only recorded: the loop
finishes the step it is in and stops at the step boundary (``check``), so the state it
checkpoints is whole, and a save in progress completes. A second signal raises at once.

Without ``handle_signals`` (the library used from Python) nothing changes: Ctrl-C raises
KeyboardInterrupt wherever it lands, and the loops handle that as before.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    depth = 0  # nesting of deferred() blocks
    pending: int | None = None  # a signal recorded inside deferred(), not yet acted on
    received: int | None = None  # the signal received while the handlers are installed
    last: int | None = (
        None  # the one received by the last handle_signals block, for the exit status
    )


_state = _State()


def _handler(signum: int, frame: object) -> None:
    _state.received = signum
    if _state.depth > 0 and _state.pending is None:
        _state.pending = signum
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT and SIGTERM both interrupt (as KeyboardInterrupt), deferred inside ``deferred``
    blocks. Only the main thread can install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.pending = _state.received = _state.last = None
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _state.last, _state.received, _state.pending = _state.received, None, None


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside this block the first signal waits for ``check`` (or the block's end)."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1


def check() -> None:
    """At a step boundary: raises KeyboardInterrupt if a signal is waiting."""
    if _state.pending is not None:
        _state.pending = None
        raise KeyboardInterrupt


def received() -> int | None:
    """The signal (signal.SIGINT or SIGTERM) that interrupted the command, if any."""
    return _state.received or _state.last


def forget() -> None:
    """A new command starts: no signal received yet."""
    _state.last = _state.received = _state.pending = None


def describe() -> str:
    """'interrupted' or 'terminated (SIGTERM)': how the last interruption came."""
    return "terminated (SIGTERM)" if _state.received == signal.SIGTERM else "interrupted"
