"""How many BLAS threads a training run uses, and holding it there.

numpy's OpenBLAS starts one thread per core and splits every matrix product between them. Two
threads only pay when a product is large enough to amortize handing out the work, and when the
cores are free: an OpenBLAS thread that waits for a core another process holds spins, and the
product waits for it. On a 2-core machine shared with other busy processes, two threads were
slower than one for every product nnctl's workloads have, and only somewhat faster on an idle
machine (the measurements: docs/developers/measured-data.md and "Threads" in
docs/developers/performance.md).

So by default (``auto``) a run uses more than one thread only when its largest product per step
reaches ``ALL_CORES_FROM`` multiply-adds, and then only as many as there are cores nobody else
is using when it starts (on 2 cores: both when nothing else runs, else one). The choice is made
once, recorded in the run (``summary.json``'s ``threads``) and reused by ``--resume``: results
depend (in the last bits) on the thread count, so a resumed run must keep it to stay bit for
bit the uninterrupted one. An explicit ``--threads N``, or
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` in the environment, overrides the choice.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Below this many multiply-adds in a step's largest product, one thread is as fast or faster
# even on an idle machine (see docs/developers/performance.md, "Threads", for the measurement).
ALL_CORES_FROM = 1e7

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class ThreadChoice:
    """``setting``: what decided it ("auto", "option" for --threads, "environment", or
    "recorded" on resume); ``blas``: the BLAS threads the run uses (None: the environment's,
    left alone); ``reason``: one line for the summary and the docs."""

    setting: str
    blas: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"setting": self.setting, "blas_threads": self.blas, "reason": self.reason}


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def largest_product(layer_dims: list[int], batch: int) -> int:
    """Multiply-adds of the largest matrix product of one step: W_l (n_l, n_{l-1}) times a batch
    (n_{l-1}, batch), or its backward twins of the same size."""
    return max(n * n_prev * batch for n_prev, n in zip(layer_dims[:-1], layer_dims[1:]))


def others_running(samples: int = 3, interval: float = 0.005) -> float:
    """Other runnable threads on the machine right now (mean of a few samples of
    /proc/stat's procs_running, less this sampling thread); the 1-minute load average where
    /proc/stat is missing."""
    counts = []
    for k in range(samples):
        try:
            with open("/proc/stat") as f:
                line = next(ln for ln in f if ln.startswith("procs_running"))
            counts.append(int(line.split()[1]) - 1)
        except (OSError, StopIteration, ValueError):
            return os.getloadavg()[0]
        if k + 1 < samples:
            time.sleep(interval)
    return sum(counts) / len(counts)


def choose(layer_dims: list[int], batch: int, option: int | None) -> ThreadChoice:
    """The BLAS threads of a run whose steps multiply batches of ``batch`` examples through
    ``layer_dims``; ``option``: --threads (None when not given)."""
    if option is not None:
        return ThreadChoice("option", option, f"--threads {option}")
    for var in ENV_VARS:
        if os.environ.get(var):
            return ThreadChoice("environment", None, f"{var}={os.environ[var]}")
    n_cores = cores()
    work = largest_product(layer_dims, batch)
    if n_cores == 1:
        return ThreadChoice("auto", 1, "one core")
    if work < ALL_CORES_FROM:
        return ThreadChoice(
            "auto", 1, f"largest product {work:.3g} multiply-adds < {ALL_CORES_FROM:.0e}"
        )
    busy = others_running()
    free = max(1, min(n_cores, round(n_cores - busy)))  # the cores nobody else is using
    if free == 1:
        return ThreadChoice("auto", 1, f"{busy:.1f} other threads running at start")
    idle = "idle machine" if free == n_cores else f"{busy:.1f} other threads running at start"
    return ThreadChoice("auto", free, f"largest product {work:.3g} multiply-adds, {idle}")


def for_run(
    layer_dims: list[int], batch: int, option: int | None, recorded: dict[str, Any] | None = None
) -> ThreadChoice:
    """``choose``, except that a resumed run (``recorded``: its summary's ``threads``) keeps the
    thread count it started with unless ``option`` says otherwise."""
    if option is None and recorded and recorded.get("setting") != "environment":
        n = recorded.get("blas_threads")
        if isinstance(n, int) and n >= 1:
            return ThreadChoice(
                "recorded", n, f"recorded when the run started ({recorded.get('reason')})"
            )
    return choose(layer_dims, batch, option)


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limits the BLAS thread pools to ``n`` threads while the block runs (None: unchanged)."""
    if n is None:
        yield
        return
    import numpy  # noqa: F401 - BLAS must be loaded for threadpoolctl to find it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield
