"""The run directory, and the one owner of its files.

- ``files``: the file names (``SUMMARY_FILE``, ``CONFIG_FILE``, ``PARAMS_FILE``,
  ``HISTORY_FILE``, ``CHECKPOINT_FILE``), run ids, ``create_run_dir`` and atomic writes.
- ``summary``: ``RunSummary``, the typed summary file: one writer (``RunSummary.write``), one
  reader (``read_summary``).
- ``loaded``: ``find_run``, ``load_run`` -> ``LoadedRun`` (config, summary, preprocessing,
  task, params) and the checked parameter readers.
- ``checkpoint``: the checkpoint file of a ``TrainState`` (imported on its own: it needs the
  model and optimizers, which listing runs does not).
"""

from nnctl.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    DEFAULT_RUNS_DIR,
    HISTORY_FILE,
    PARAMS_FILE,
    HistoryWriter,
    RUNS_DIR_ENV,
    SUMMARY_FILE,
    atomic_write,
    config_file,
    create_run_dir,
    default_runs_dir,
    has_checkpoint,
    history_csv,
    is_run_dir,
    iter_run_dirs,
    new_run_id,
    params_bytes,
    read_config_text,
    read_history,
    remove_checkpoint,
    save_config_text,
    save_history,
    save_params,
    summary_file,
    utc_now,
    write_json,
    write_params,
    write_text,
)
from nnctl.runs.loaded import (
    LoadedRun,
    Preprocessing,
    check_params,
    find_run,
    pick_by_name,
    flat_config,
    load_params,
    load_run,
    load_run_config,
    parse_preprocessing,
    read_params,
)
from nnctl.runs.lock import RunLock, is_stale, owner_record
from nnctl.runs.summary import RunSummary, flatten, read_summary

__all__ = [
    "CHECKPOINT_FILE", "CONFIG_FILE", "DEFAULT_RUNS_DIR", "HISTORY_FILE", "PARAMS_FILE", "RUNS_DIR_ENV",
    "SUMMARY_FILE", "HistoryWriter", "LoadedRun", "Preprocessing", "RunSummary", "atomic_write", "check_params", "config_file",
    "create_run_dir", "default_runs_dir", "find_run", "pick_by_name", "flat_config", "flatten", "has_checkpoint", "history_csv",
    "is_run_dir", "iter_run_dirs", "load_params", "load_run", "load_run_config", "new_run_id", "params_bytes",
    "parse_preprocessing", "read_config_text", "read_history", "read_params", "read_summary",
    "remove_checkpoint", "RunLock", "is_stale", "owner_record", "save_config_text", "save_history", "save_params", "summary_file", "utc_now",
    "write_json", "write_params", "write_text",
]
