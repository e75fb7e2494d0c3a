"""Deleting a run directory, and only a run directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from nnctl import runs
from nnctl.runs import RunSummary
from nnctl.system import RunError


def check_removable(run_dir: Path) -> RunSummary:
    """Refuses anything but a run directory: its summary must parse and name this directory
    as its run, so ``rm`` cannot delete an unrelated folder that happens to hold a JSON file."""
    if run_dir.is_symlink() or not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run directory (refusing to delete)")
    s = runs.read_summary(run_dir)
    if s.run_id != run_dir.resolve().name:
        raise RunError(
            f"{run_dir}: {runs.SUMMARY_FILE} does not name this directory as its run; not a run "
            "directory (refusing to delete)"
        )
    return s


def remove_run(run_dir: Path) -> None:
    """Deletes a run directory. The summary goes first: that one unlink makes the directory
    stop being a run, so an interrupted delete never leaves a half-deleted "run" in listings."""
    check_removable(run_dir)
    try:
        runs.summary_file(run_dir).unlink()
        shutil.rmtree(run_dir)
    except OSError as exc:
        raise RunError(f"{run_dir}: cannot delete: {exc.strerror or exc}") from None
