"""What a resumed run goes on from (``train.resume_run``): the checks that it can be
continued, its config at a new length, and its training state (a checkpoint, or a finished
run's parameters and history)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from nnctl import runs
from nnctl.config import Config
from nnctl.data import Dataset
from nnctl.runs import RunSummary, load_checkpoint
from nnctl.system import ConfigError, RunError
from nnctl.training import TrainState, batch_count

LENGTH_KEYS = ("iterations", "epochs")


def check_resumable(run_dir: Path, summary: RunSummary, extend: bool) -> None:
    """Refuses a run that resuming (``extend``: to a new length) cannot continue: a complete
    run not extended, a diverged run, and an early-stopped run extended. Raises RunError."""
    if summary.status == "complete" and not extend:
        raise RunError(
            f"{run_dir}: the run is already complete; there is nothing to resume "
            "(to train it further: --more N, or --set iterations=N)"
        )
    if summary.status == "diverged":
        raise RunError(
            f"{run_dir}: the run diverged ({summary.message}); resuming would diverge again "
            "at the same step, so start a new run with a smaller learning_rate"
        )
    if extend and summary.stopped_early:
        raise RunError(
            f"{run_dir}: the run stopped early ({summary.message}); a longer run would "
            "stop at the same epoch"
        )


def check_same_data(run_dir: Path, summary: RunSummary, ds: Dataset) -> None:
    """Refuses data whose contents (or generator settings) differ from the ones the run
    started with: resuming would not reproduce it. Raises RunError."""

    def identity(sources: list[dict]) -> list[dict]:  # the file contents, not where they are now
        return [
            {k: v for k, v in src.items() if k not in ("path", "sha256_cached")} for src in sources
        ]

    if identity(summary.sources) != identity(ds.sources):
        raise RunError(
            f"{run_dir}: the dataset differs from the one the run started with "
            "(file contents or generator settings changed); resuming would not reproduce it"
        )


def run_length(cfg: Config) -> dict[str, int]:
    """The length a config asks for, in the key it counts in: {'iterations': N} or
    {'epochs': N}."""
    key = "iterations" if cfg.iterations is not None else "epochs"
    return {key: int(getattr(cfg, key))}


def extended(
    cfg: Config, run_dir: Path, summary: RunSummary, more: int | None, length: dict[str, int]
) -> Config:
    """The run's config with its new length: ``more`` added to its iterations or epochs, or
    ``length`` ({'iterations': N} or {'epochs': N}, the key the run counts in)."""
    key = "iterations" if cfg.iterations is not None else "epochs"
    current = getattr(cfg, key)
    if more is not None:
        new = current + more
    else:
        ((given, new),) = length.items()
        if given != key:
            raise ConfigError(
                f"{run_dir}: the run counts {key} ({key}: {current}); set {key}=N or use --more N"
            )
        if new <= current:
            raise ConfigError(
                f"{run_dir}: --set {key}={new}: the run has {key}: {current} already; "
                f"give more than {current}"
            )
    return dataclasses.replace(cfg, **{key: new})


def continue_state(run_dir: Path, cfg: Config, summary: RunSummary, m: int) -> TrainState:
    """Where the run goes on from: its checkpoint, or for a finished run whose only state is
    its parameters (full-batch plain gradient descent), params.npz and history.csv."""
    if runs.has_checkpoint(run_dir) or summary.status != "complete":
        return load_checkpoint(run_dir, cfg, m)
    params = runs.load_params(run_dir, list(cfg.layer_dims), cfg.float_type, runs.norm_layers(cfg))
    h = runs.read_history_table(run_dir)
    if len(h.costs) != summary.iterations_done:
        raise RunError(
            f"{run_dir}: {runs.HISTORY_FILE} has {len(h.costs)} steps but the run did "
            f"{summary.iterations_done}; it cannot be continued"
        )
    val_rows = [
        (int(e) - 1, float(v), float(a)) for e, v, a in zip(h.epochs, h.val_loss, h.val_accuracy)
    ]
    state = TrainState.from_params(cfg, params, h.costs.tolist(), val_rows)
    if state.needs_checkpoint(cfg, batch_count(cfg, m)):
        raise RunError(
            f"{run_dir}: has no {runs.CHECKPOINT_FILE} with its final optimizer and random "
            "state (finished by an earlier nnctl); it cannot be continued exactly"
        )
    return state
