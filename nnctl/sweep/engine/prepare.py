"""Before the loop: checking every trial config a sweep file enumerates, creating the sweep
directory, and reopening an existing one. Nothing here trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.sweep import store
from nnctl.sweep.engine.backends import import_backends
from nnctl.sweep.engine.datasets import dataset_key, streams
from nnctl.sweep.engine.study import study_json
from nnctl.sweep.spec import SweepSpec, base_raw, check_values, parse_sweep, trial_config
from nnctl.sweep.store import SweepRecord
from nnctl.system import RunError


def check_sweep(spec: SweepSpec) -> tuple[int, int]:
    """Validates every trial config the sweep file lets one enumerate (the grid, or each
    key's choices and range ends), and each against its data (``bind``: layer sizes, classes,
    task), before anything trains. Returns (configs checked, trials the sweep will run).
    Raises ConfigError or DataError."""
    from nnctl.data import load_dataset
    from nnctl.training import bind

    raw = base_raw(spec)
    loaded: dict[str, Any] = {}
    values_list = check_values(spec)
    for values in values_list:
        label = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
        cfg = trial_config(spec, raw, values, "check", label)
        if streams(cfg):
            bind(cfg)  # reads the files' headers and labels only
            continue
        key = dataset_key(cfg)
        if key not in loaded:
            loaded[key] = load_dataset(cfg.dataset, cfg.dtype, cfg.arch.loss.task, cfg.path)
        bind(cfg, loaded=loaded[key])
    return len(values_list), spec.n_trials()


def start_sweep(spec: SweepSpec, runs_dir: Path) -> Path:
    """Creates the sweep directory (sweep file copy, empty study and results). Returns it.
    Raises UsageError (Dask or Optuna missing) or RunError."""
    import_backends()
    sweep_id, sweep_dir = store.new_sweep_id(spec.path.stem, runs_dir)
    store.save_sweep_text(sweep_dir, spec.text)
    record = SweepRecord(
        sweep_id,
        str(spec.path.absolute()),
        str(spec.config),
        spec.metric,
        spec.direction,
        spec.sampler,
        spec.n_trials(),
        runs.utc_now(),
        keys=[p.key for p in spec.space],
    )
    store.write_study(sweep_dir, study_json(spec, []))
    store.write_record(sweep_dir, record)
    return sweep_dir


def open_sweep(sweep_dir: Path) -> tuple[SweepSpec, SweepRecord]:
    """The spec and results of an existing sweep, its sweep file re-read from the copy it holds
    (relative paths resolve as they did when it started)."""
    from nnctl.system import MAX_CONFIG_BYTES, read_capped

    record = store.read_record(sweep_dir)
    path = sweep_dir / store.SWEEP_FILE
    try:
        text = read_capped(path, MAX_CONFIG_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise RunError(f"{path}: damaged (not UTF-8 text)") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_sweep(text, Path(record.sweep_file)), record
