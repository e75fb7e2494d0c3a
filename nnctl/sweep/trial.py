"""One trial, as a worker runs it: train a config in-process on data it was sent (no files),
and return the run's contents for the client to write; and the client's writer of that run.

Nothing here imports Dask or Optuna: ``run_trial`` is a plain function a Dask worker calls
(and a benchmark or test can call directly), and its ``TrialResult`` is plain picklable data.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.commands import fit, record_result
from nnctl.config import Config, dump_config
from nnctl.data import Dataset
from nnctl.runs import RunSummary, history_rows
from nnctl.system import threads as blas
from nnctl.training import TrainResult, TrainState, bind, total_iterations


@dataclass(frozen=True)
class PruneRule:
    """The median rule, decided on the worker: after ``warmup`` epochs, a trial whose
    validation loss at epoch e is worse than ``medians[e]`` (the median over the trials
    complete when this one was sent) stops. Sending the medians with the trial means a worker
    never has to reach the client or the study while it trains."""

    warmup: int
    medians: tuple[float, ...]

    def prunes(self, epoch: int, val_loss: float) -> bool:
        return epoch >= self.warmup and epoch < len(self.medians) and val_loss > self.medians[epoch]


def prune_rule(curves: list[list[float]], epochs: int | None, startup: int = 4) -> PruneRule | None:
    """The rule from the per-epoch validation losses of complete trials; None (no pruning)
    until ``startup`` trials are complete."""
    if len(curves) < startup:
        return None
    n = max(len(c) for c in curves)
    medians = tuple(statistics.median([c[e] for c in curves if e < len(c)]) for e in range(n))
    warmup = max(1, (epochs or n) // 4)
    return PruneRule(warmup, medians)


class _Pruned(Exception):
    def __init__(self, epoch: int, loss: float, median: float) -> None:
        super().__init__(epoch)
        self.epoch, self.loss, self.median = epoch, loss, median


@dataclass
class TrialResult:
    """What a worker sends back: the run's summary (``run_id`` not yet given), its config as
    ``config.yaml`` holds it, its history rows, its parameters (None unless complete or
    pruned), and the per-epoch validation losses (for the pruning rule)."""

    summary: RunSummary
    config_text: str
    history_header: tuple[str, ...]
    history_rows: list[tuple]
    params: dict[str, np.ndarray] | None
    val_losses: list[float] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.summary.status)


def run_trial(
    cfg: Config,
    data: Dataset | None,
    prune: PruneRule | None = None,
    threads: int | None = 1,
    on_iteration: Callable[[int, float], None] | None = None,
    prepare: Callable[[Dataset], Dataset] | None = None,
) -> TrialResult:
    """Trains ``cfg`` on ``data`` (the config's dataset as ``load_dataset`` returned it: the
    validation set is held out here, exactly as ``train`` would; None: data streamed from its
    files, which the trial reads itself) and returns the run's contents. ``threads``: BLAS
    threads for this training (one per worker: the parallelism is across trials; None: left
    as they are). ``on_iteration(i, cost)``: after each step (a progress display; ``nnctl cv``).
    ``prepare``: applied to the bound (held out, normalized) dataset, as ``train_run``'s is (a
    learning curve's share of the training split). Raises ConfigError or DataError for a
    config that does not fit the data."""
    with blas.blas_threads(threads):
        return _run_trial(cfg, data, prune, on_iteration, prepare)


def _run_trial(
    cfg: Config,
    data: Dataset | None,
    prune: PruneRule | None,
    progress: Callable[[int, float], None] | None = None,
    prepare: Callable[[Dataset], Dataset] | None = None,
) -> TrialResult:
    bound = bind(cfg, loaded=data)  # None: bind reads (streams) the files itself
    cfg, ds = bound.cfg, bound.dataset
    if prepare is not None:
        ds = prepare(ds)
    m = ds.X_train.shape[1]
    summary = RunSummary.new("", cfg, ds, total_iterations(cfg, m))
    summary.warnings += ds.warnings  # as train_run records them (skipped files, feature scales)
    # The state the loop would create itself; holding it lets the pruning rule read the
    # validation rows the loop appends after each epoch (the loop itself is unchanged).
    state = TrainState.start(cfg)
    seen = 0

    def on_iteration(i: int, cost: float) -> None:
        nonlocal seen
        if prune is not None and len(state.val_rows) > seen:
            seen = len(state.val_rows)
            loss = state.val_rows[-1][1]
            if prune.prunes(seen - 1, loss):
                raise _Pruned(seen - 1, loss, prune.medians[seen - 1])
        if progress is not None:
            progress(i, cost)

    start = time.perf_counter()
    try:
        # the weights too (class_weight, sample weights), exactly as train_run trains
        result = fit(
            cfg,
            ds.X_train,
            ds.Y_train,
            on_iteration,
            X_val=ds.X_val,
            Y_val=ds.Y_val,
            state=state,
            weights=ds.W_train,
            weights_val=ds.W_val,
        )
    except _Pruned as exc:
        result = TrainResult(
            state.params,
            state.costs,
            "pruned",
            time.perf_counter() - start,
            f"pruned after epoch {exc.epoch}: validation loss {exc.loss:.6g} is worse than "
            f"the median {exc.median:.6g} of the trials complete when it started",
            state.epoch,
            state.val_rows,
        )
    # recorded exactly as nnctl.commands.train records a run, so a trial's summary reads like
    # any run's
    scores = record_result(cfg, ds, summary, result, scored=("complete", "pruned"))
    header, rows = history_rows(cfg, result, m)
    params = result.params.to_dict() if result.status in ("complete", "pruned") and scores else None
    val_losses = [float(loss) for _, loss, _ in result.val_rows]
    return TrialResult(summary, dump_config(cfg), header, rows, params, val_losses)


def trial_value(result: TrialResult, metric: str) -> float | None:
    """The sweep's metric of a finished trial (None: it has none, e.g. diverged)."""
    v = result.summary.scores.get(metric)
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def write_trial_run(
    run_dir: Path, result: TrialResult, sweep_id: str, trial: int, attempts: int
) -> None:
    """Writes a trial's run into ``run_dir`` (new, from ``runs.create_run_dir``) on the client,
    through the runs package's writer (``runs.write_run``): config, history and parameters
    first, the summary last, so the directory is a run (``runs list`` sees it) only once it is
    whole."""
    s = result.summary
    s.run_id = run_dir.name
    s.extra.update(sweep=sweep_id, trial=trial, attempts=attempts)
    runs.write_run(
        run_dir,
        s,
        config_text=result.config_text,
        history=(result.history_header, result.history_rows),
        params=result.params,
    )


def write_failed_run(
    runs_dir: Path, cfg: Config, message: str, sweep_id: str, trial: int, attempts: int
) -> Path:
    """A trial that never came back (its worker died twice, or it raised): a run with status
    failed and the reason, so ``runs list --filter sweep=ID`` shows every trial."""
    run_dir = runs.create_run_dir(runs_dir)
    s = RunSummary(
        run_id=run_dir.name,
        name=cfg.name,
        status="failed",
        created=runs.utc_now(),
        config_file=cfg.source,
        config_path=cfg.path,
        layer_dims=list(cfg.layer_dims),
        activations=list(cfg.activations),
        loss=cfg.loss,
        dtype=cfg.dtype,
        finished=runs.utc_now(),
        message=message,
    )
    s.task = cfg.arch.loss.task
    s.extra.update(sweep=sweep_id, trial=trial, attempts=attempts)
    runs.write_run(run_dir, s, config_text=dump_config(cfg))
    return run_dir


def value_of(value: Any) -> Any:
    """A sampled value as JSON holds it (numpy scalars from a sampler become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
