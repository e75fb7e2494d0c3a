"""Plain tasks on Dask, for what is not a sweep: ``nnctl cv``'s folds and a learning curve's
shares. The cluster is a sweep's (``cluster.connect``: a LocalCluster on 127.0.0.1 of one
thread and one BLAS thread per worker, or the cluster behind ``--scheduler``), the dataset is
scattered once as a sweep's (``datasets.Datasets``), and a task lost with its worker is sent
``loop.RETRIES`` more times, as a sweep's trial is. The client takes each result back as it
finishes; the caller writes it (a run directory), so the workers never see the runs directory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from nnctl.sweep.engine import cluster
from nnctl.sweep.engine.backends import import_distributed
from nnctl.sweep.engine.datasets import Datasets
from nnctl.sweep.engine.loop import RETRIES
from nnctl.system import RunError, UsageError

OnNotice = Callable[[str], None]


def check_cluster_options(workers: int | None, scheduler: str | None) -> bool:
    """Whether ``workers``/``scheduler`` ask for Dask at all; refuses ``workers`` below 1 and
    both at once (``--workers`` sizes a local cluster; a scheduler's cluster has its own).
    Raises UsageError."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: needs at least 1 worker")
    if workers is not None and scheduler is not None:
        raise UsageError(
            "--workers sizes a local cluster; with --scheduler the cluster's own workers run "
            "the tasks"
        )
    return workers is not None or scheduler is not None


class TaskPool:
    """A connected Dask client and what it needs to send tasks; made by ``task_pool``."""

    def __init__(self, distributed: Any, client: Any, local: Any, slots: int, on_notice: Any):
        self.distributed, self.client, self.local = distributed, client, local
        self.slots, self.notice = slots, on_notice or (lambda text: None)
        self.datasets = Datasets(client)

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[tuple[Any, ...]],
        cfg: Any,
        data: Any,
        name: str,
        label: Callable[[int], str],
    ) -> Iterator[tuple[int, Any]]:
        """``(i, fn(data, *tasks[i]))`` for every task, in the order they finish. ``data``
        (``cfg``'s dataset as the caller loaded it) is scattered once and each worker gets
        it by reference. ``name``: the tasks' keys on the cluster; ``label(i)``: how a
        notice or an error names task i ("fold 3"). Re-raises a task's own error (a
        library error arrives as it was raised); a task whose worker died more than
        RETRIES times is RunError."""
        inflight: dict[Any, tuple[int, int]] = {}
        ac = self.distributed.as_completed(loop=self.client.loop)

        def send(i: int, attempts: int) -> None:
            fut = self.client.submit(
                fn,
                self.datasets.future(cfg, data),
                *tasks[i],
                key=f"{name}-{i}-a{attempts}",
                pure=False,
                retries=0,
            )
            inflight[fut] = (i, attempts)
            ac.add(fut)

        try:
            for i in range(len(tasks)):
                send(i, 1)
            while inflight:
                fut = next(ac)
                i, attempts = inflight.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:
                    if not cluster.is_worker_death(exc):
                        raise
                    fut.release()
                    if attempts > RETRIES:
                        raise RunError(
                            f"{label(i)}: its worker died {attempts} times; nothing more was tried"
                        ) from None
                    self.notice(f"{label(i)}: its worker died; sending it again")
                    send(i, attempts + 1)
                    continue
                fut.release()
                yield i, result
        finally:
            for fut in list(inflight):
                fut.cancel()

    def close(self) -> None:
        cluster.close(self.client, self.local)


@contextlib.contextmanager
def task_pool(
    workers: int | None,
    scheduler: str | None,
    n_tasks: int,
    what: str,
    on_notice: OnNotice | None = None,
) -> Iterator[TaskPool]:
    """A client of a local cluster of ``workers`` processes (capped as a sweep's: at the
    tasks, the cores and the memory; a capped request is a notice) or of the cluster at
    ``scheduler``, closed (the local cluster shut down) when the block ends. ``what`` names
    the tasks in the capped notice ("5 folds"). Connecting comes first, so a missing extra or
    an unreachable scheduler is refused (UsageError) before the caller writes anything."""
    distributed = import_distributed("--workers/--scheduler")
    check_cluster_options(workers, scheduler)
    if scheduler is None:
        workers, notice = cluster.worker_count(workers, n_tasks, f"there are {what}")
        if notice is not None and on_notice is not None:
            on_notice(notice)
    client, local, slots = cluster.connect(distributed, workers, scheduler)
    pool = TaskPool(distributed, client, local, slots, on_notice)
    try:
        yield pool
    finally:
        pool.close()
