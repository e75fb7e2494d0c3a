"""The Dask cluster the trials run on: a LocalCluster started here, or the cluster behind a
scheduler's address; closing it; and telling a trial lost with its worker from one that failed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from nnctl.system import UsageError

# A worker process's resident memory with a small trial, rounded up (an idle one measured at
# about 62 MiB: docs/developers/measured-hostile-files.md); with the trial's own data it is more,
# so memory for fewer workers than this allows is a bound, not an estimate.
WORKER_BYTES = 128 << 20


def _cores() -> int:
    from nnctl.system import threads

    return threads.cores()


def _memory() -> int | None:
    from nnctl.system import available_memory

    return available_memory()


def worker_count(
    requested: int | None, trials_left: int, left: str | None = None
) -> tuple[int, str | None]:
    """How many worker processes a local cluster starts: ``requested`` (default one per core),
    but never more than the trials left to run, the cores (each trial is CPU-bound on one
    BLAS thread: more workers only share the same cores, each costing memory and file
    descriptors) or the workers the available memory holds. Returns (count, the one line that
    says a request was capped, or None). ``left``: how that line names the tasks to run
    (default: the sweep's trials left)."""
    cores, memory = _cores(), _memory()
    bounds = [
        (max(1, trials_left), left or f"the sweep has {trials_left} trials left"),
        (cores, f"this machine has {cores} cores"),
    ]
    if memory is not None:
        fits = max(1, memory // WORKER_BYTES)
        bounds.append((fits, f"this machine has memory for {fits} workers of about 128 MiB"))
    limit = min(b for b, _ in bounds)
    n = requested or cores
    if n <= limit:
        return n, None
    if requested is None:  # the default, one per core, quietly fitted to the sweep
        return limit, None
    why = "; ".join(text for b, text in bounds if b == limit)
    return limit, f"--workers {requested}: capped at {limit} ({why})"


def connect(distributed: Any, workers: int | None, scheduler: str | None) -> tuple[Any, Any, int]:
    """A client of a LocalCluster (``workers`` processes, one thread and one BLAS thread each)
    or of the cluster at ``scheduler``; the cluster to close (None for ``scheduler``'s); and
    how many trials to keep in flight (one per worker thread). Raises UsageError."""
    if scheduler is not None:
        return _remote(distributed, scheduler)
    import dask

    n = workers or os.cpu_count() or 1
    # A trial whose worker died is not rescheduled behind the client's back: the client sends
    # it once more itself (RETRIES) and says so.
    # Ctrl-C on a terminal reaches the whole process group: the worker processes start with
    # SIGINT ignored (inherited through exec), so only the client handles it and shuts them
    # down, instead of each worker printing its own KeyboardInterrupt traceback.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            # Everything on 127.0.0.1; the scheduler's HTTP server (always started) on a free
            # port rather than 8787, which another sweep on this machine may hold.
            cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    client = distributed.Client(cluster, set_as_default=False)
    return client, cluster, n


def _remote(distributed: Any, scheduler: str) -> tuple[Any, None, int]:
    """A client of the scheduler at ``scheduler``, once it has a worker; its worker threads."""
    if "://" not in scheduler:
        raise UsageError(
            f"--scheduler {scheduler}: expected a Dask scheduler address like tcp://HOST:8786"
        )
    _probe(scheduler)
    try:
        client = distributed.Client(scheduler, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc})"
        ) from None
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError:
        client.close()
        raise UsageError(
            f"--scheduler {scheduler}: the scheduler has no workers (start some with: "
            f"dask worker {scheduler} --nthreads 1)"
        ) from None
    slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    return client, None, max(1, slots)


CONNECT_SECONDS = 5  # to open the connection (retried within it, as Dask does)
ANSWER_SECONDS = 10  # to open it, shake hands and hear the scheduler say what it is


def _probe(scheduler: str) -> None:
    """Asks the peer at ``scheduler`` who it is, within ANSWER_SECONDS in all, before a Client
    is made: Dask's handshake has no timeout of its own, so a peer that accepts and never
    answers would keep the Client waiting forever, and one that answers junk leaves a Client
    half made (a traceback when it is collected). Raises UsageError in one line."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(scheduler, timeout=CONNECT_SECONDS)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), ANSWER_SECONDS)

    where = f"--scheduler {scheduler}"
    # On a thread of its own: the caller may already run an event loop (a notebook).
    with ThreadPoolExecutor(1, thread_name_prefix="nnctl-sweep-probe") as pool:
        try:
            reply = pool.submit(lambda: asyncio.run(bounded())).result()
        except TimeoutError:
            raise UsageError(
                f"{where}: no answer from a Dask scheduler there within {ANSWER_SECONDS} s "
                "(something accepts connections on that port but does not speak Dask)"
            ) from None
        except OSError as exc:
            raise UsageError(f"{where}: cannot connect to a Dask scheduler there ({exc})") from None
        except Exception as exc:  # whatever a peer's junk makes Dask's decoder raise
            raise UsageError(
                f"{where}: the peer there does not answer as a Dask scheduler "
                f"({type(exc).__name__})"
            ) from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind == "Worker":
        raise UsageError(f"{where}: that is a Dask worker; give its scheduler's address")
    if not isinstance(kind, str) or "Scheduler" not in kind:
        raise UsageError(f"{where}: the peer there does not answer as a Dask scheduler")


def close(client: Any, cluster: Any) -> None:
    """Closes the client, then the local cluster (None: a remote one, left running); a cluster
    that will not close in time is left to exit with this process."""
    try:
        client.close(timeout=5)
    except Exception:
        pass
    if cluster is not None:
        try:
            cluster.close(timeout=10)
        except Exception:
            pass


def is_worker_death(exc: BaseException) -> bool:
    """A trial lost with its worker: the scheduler gave up on it (KilledWorker), the connection
    closed, or the scheduler cancelled it because the data it needed died with every worker
    that held it (the client cancels nothing while trials are in flight)."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    return isinstance(exc, (KilledWorker, CommClosedError, FutureCancelledError, CancelledError))
