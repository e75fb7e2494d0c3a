"""A learning curve's shares (``nnctl diagnose RUN --learning-curve``) as Dask tasks: the
``ShareTrainer`` that ``nnctl.commands.diagnose.learning_curve`` takes, on the sweep's cluster
(``engine.tasks``). Each share trains on a worker through the trials' path (``trial.run_trial``
with the share's ``keep_columns`` as its ``prepare``, as ``train_run`` applies it one after
another) and is written here, by the client, as an ordinary run linked to its parent."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

from nnctl import runs
from nnctl.commands.diagnose import Share, ShareRun, ShareTrainer, keep_columns
from nnctl.config import Config
from nnctl.data import Dataset
from nnctl.runs import LoadedRun
from nnctl.sweep.trial import TrialResult, run_trial
from nnctl.system import NnctlError, RunFailed


def train_share(
    data: Dataset | None, cfg: Config, rows: object, threads: int | None = 1
) -> TrialResult:
    """One share's run, on a worker: ``cfg`` bound to ``data`` (its dataset as ``load_dataset``
    read it) and trained on the columns ``rows`` of the bound training split."""
    return run_trial(cfg, data, threads=threads, prepare=functools.partial(keep_columns, rows=rows))


def on_dask(
    workers: int | None,
    scheduler: str | None,
    threads: int | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> ShareTrainer:
    """The shares as Dask tasks on a local cluster of ``workers`` processes or the cluster
    at ``scheduler``; ``threads``: BLAS threads per task (None: 1). Refuses here (UsageError),
    before anything is trained, the extra missing or the options wrong; the cluster itself
    is reached when the curve starts, before its first run is written."""
    from nnctl.sweep.engine.backends import import_distributed
    from nnctl.sweep.engine.tasks import check_cluster_options, task_pool

    import_distributed("--workers/--scheduler")
    check_cluster_options(workers, scheduler)
    per_task = 1 if threads is None else threads

    def train(run: LoadedRun, shares: list[Share], runs_dir: Path) -> Iterator[ShareRun]:
        with task_pool(workers, scheduler, len(shares), f"{len(shares)} shares", on_notice) as pool:
            if on_notice is not None:
                at = f" at {scheduler}" if scheduler else ""
                on_notice(f"the shares run on {pool.slots} Dask worker(s){at}")
            results = pool.map(
                train_share,
                [(run.config, sh.rows, per_task) for sh in shares],
                run.config,
                None,
                f"{run.run_id}-curve",
                lambda i: f"share {shares[i].share:g}",
            )
            try:
                for i, result in results:
                    yield _write(result, shares[i], runs_dir)
            except NnctlError as exc:
                if isinstance(exc, RunFailed):
                    raise
                # exit 1, not the 2 that promises nothing was written
                raise RunFailed(f"{exc} (the shares done are kept as runs)", runs_dir) from exc
            finally:
                results.close()

    return train


def _write(result: TrialResult, share: Share, runs_dir: Path) -> ShareRun:
    """The share's run written through the runs package's writer, summary last."""
    run_dir = runs.create_run_dir(runs_dir)
    s = result.summary
    s.run_id = run_dir.name
    s.extra.update(share.extra)
    runs.write_run(
        run_dir,
        s,
        config_text=result.config_text,
        history=(result.history_header, result.history_rows),
        params=result.params,
    )
    return ShareRun(share.index, run_dir.name, run_dir, s)
