"""Double buffering with a background reader (``Prefetch``): while one item (a streamed window)
is used, the next is loaded into the other buffer by a thread of its own; h5py and numpy release
the GIL while they read and convert, so the loading overlaps the training thread's work."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
# loads an item into buffer 0 or 1 and returns it
Load = Callable[[int], T]


class Prefetch(Generic[T]):
    """Items named by keys, each loaded into one of two buffers. ``get`` returns the item
    asked for (the one in use, the one prefetched when it was the one expected, else loaded
    now) and starts loading the following one into the other buffer in the background."""

    def __init__(self, thread_name: str) -> None:
        self.current: tuple[Hashable, int, T] | None = None  # key, buffer, item
        self.pending: tuple[Hashable, int, Future] | None = None  # key, buffer, its loading
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    def get(
        self,
        key: Hashable,
        load: Load[T],
        following: Callable[[], tuple[Hashable, Load[T]]],
    ) -> T:
        """Item ``key``; ``load(buffer)`` loads it when neither in use nor prefetched.
        ``following()`` (called in this thread) names the item to prefetch next and its load."""
        if self.current is not None and self.current[0] == key:
            return self.current[2]
        item: T | None = None
        buf = 0 if self.current is None else 1 - self.current[1]
        if self.pending is not None:
            pending_key, pending_buf, fut = self.pending
            self.pending = None
            got = fut.result()  # also waits, so the buffer is free either way
            if pending_key == key:
                item, buf = got, pending_buf
        if item is None:
            item = load(buf)
        self.current = (key, buf, item)
        next_key, load_next = following()
        self.pending = (next_key, 1 - buf, self.pool.submit(load_next, 1 - buf))
        return item

    def close(self) -> None:
        """Cancels what is pending and waits for the loading thread to end."""
        if self.pending is not None:
            self.pending[2].cancel()
        self.pool.shutdown(wait=True)
