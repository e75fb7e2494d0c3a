"""The run directory, and the one owner of its files.

- ``files``: the file names (``SUMMARY_FILE``, ``CONFIG_FILE``, ``PARAMS_FILE``,
  ``HISTORY_FILE``, ``CHECKPOINT_FILE``), run ids, ``create_run_dir`` and atomic writes.
- ``history``: history.csv: its columns (``history_rows``), its writers (whole, or
  ``HistoryWriter`` while a run trains) and its reader (``read_history_table``).
- ``summary``: ``RunSummary``, the typed summary file: one writer (``RunSummary.write``), one
  reader (``read_summary``).
- ``loaded``: ``find_run``, ``load_run`` -> ``LoadedRun`` (config, summary, preprocessing,
  task, params) and the checked parameter readers.
- ``writer``: ``write_run``, a run's files in their one order (the summary last), and the
  records of a run that failed or was interrupted (``mark_failed``, ``mark_interrupted``).
- ``cvdir``: a cv directory (``nnctl cv``) read back: its record, the out-of-fold
  predictions and the suspect labels they point to.
- ``checkpoint``: the checkpoint file of a ``TrainState`` (imported on its own: it needs the
  model and optimizers, which listing runs does not).
"""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["lock"],
    submod_attrs={
        "checkpoint": ["load_checkpoint", "save_checkpoint"],
        "cvdir": ["Suspect", "cv_dir_of", "read_oof", "read_record", "suspects"],
        "files": [
            "CHECKPOINT_FILE",
            "CONFIG_FILE",
            "DEFAULT_RUNS_DIR",
            "HISTORY_FILE",
            "PARAMS_FILE",
            "RUNS_DIR_ENV",
            "SUMMARY_FILE",
            "atomic_write",
            "atomic_write_all",
            "config_file",
            "create_run_dir",
            "default_runs_dir",
            "has_checkpoint",
            "is_run_dir",
            "iter_run_dirs",
            "new_run_id",
            "params_bytes",
            "read_config_text",
            "remove_checkpoint",
            "save_config_text",
            "save_params",
            "summary_file",
            "utc_now",
            "write_json",
            "write_params",
            "write_text",
        ],
        "history": [
            "History",
            "HistoryWriter",
            "history_csv",
            "history_header",
            "history_rows",
            "live_history",
            "read_history",
            "read_history_table",
            "save_history",
        ],
        "loaded": [
            "LoadedRun",
            "Preprocessing",
            "check_params",
            "find_run",
            "flat_config",
            "load_params",
            "norm_layers",
            "load_run",
            "load_run_config",
            "parse_preprocessing",
            "pick_by_name",
            "read_params",
        ],
        "lock": ["RunLock", "is_locked", "is_stale", "owner_record"],
        "summary": ["RunSummary", "cpu_features", "flatten", "machine", "read_summary"],
        "writer": ["mark_failed", "mark_interrupted", "write_run"],
        "compare": ["compare_runs", "flow", "metric_points", "run_labels"],
        "filters": ["filter_runs"],
        "remove": ["check_removable", "remove_run"],
        "table": ["DATE_KEYS", "check_columns", "field", "list_runs", "read_run", "sort_runs"],
    },
)
