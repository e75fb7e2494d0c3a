"""Concurrent requests answered in micro-batches: the examples of the requests that arrive
within ``max_wait_ms`` of the first (up to ``max_batch`` examples) go through one forward pass,
and each request gets its own answers back. A pass waits only while other requests are in the
server (being read or decoded), so a request alone is answered at once. The passes run one at
a time on one worker thread (each chooses its BLAS threads as ``predict`` does), so the event
loop keeps accepting requests meanwhile. ``max_batch`` 1 answers each request on its own."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class _Pending:
    model: Any  # ServedModel
    names: list[str]
    raw: np.ndarray  # (m, *shape) raw examples
    threshold: float | None
    done: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Collects requests' examples and answers them in shared forward passes."""

    def __init__(self, max_batch: int, max_wait_ms: float, threads: int | None = None) -> None:
        self.max_batch, self.max_wait = max_batch, max_wait_ms / 1000.0
        self.threads = threads
        self.passes = self.examples = 0  # forward passes run, examples answered (in /healthz)
        # requests the server is answering: the app counts them in, and the batcher counts out
        # each it has answered. A pass waits for more only while some have not joined it yet.
        self.in_flight = 0
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnctl-forward")

    async def predict(
        self, model: Any, names: list[str], raw: np.ndarray, threshold: float | None
    ) -> list[dict[str, Any] | str]:
        """``predict_examples``' answers for one request's examples (raw: (m, *shape)). The
        request, counted in ``in_flight`` by the caller, is counted out once answered."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._run())
        done = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(model, names, raw, threshold, done))
        return await done

    async def close(self) -> None:
        """Stops the collecting task (after the server has answered its requests)."""
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=True)

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].names)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch and len(batch) < self.in_flight:
                try:
                    item = await asyncio.wait_for(self._queue.get(), deadline - loop.time())
                except TimeoutError:
                    break
                batch.append(item)
                size += len(item.names)
            # one pass per model and threshold among the requests collected
            groups: dict[tuple[int, float | None], list[_Pending]] = {}
            for item in batch:
                groups.setdefault((id(item.model), item.threshold), []).append(item)
            for items in groups.values():
                await self._answer(loop, items)

    async def _answer(self, loop: asyncio.AbstractEventLoop, items: list[_Pending]) -> None:
        from nnctl.commands import predict_examples

        first = items[0]
        names = [n for item in items for n in item.names]
        try:
            raw = first.raw if len(items) == 1 else np.concatenate([i.raw for i in items])
            answers = await loop.run_in_executor(
                self._pool,
                predict_examples,
                first.model.loaded,
                names,
                raw,
                first.threshold,
                self.threads,
            )
        except Exception as exc:  # handed to each request, which answers it as an error
            for item in items:
                self.in_flight -= 1
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        self.passes += 1
        self.examples += len(names)
        start = 0
        for item in items:
            end = start + len(item.names)
            self.in_flight -= 1
            if not item.done.done():  # a client that went away has cancelled its future
                item.done.set_result(answers[start:end])
            start = end
