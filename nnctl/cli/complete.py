"""Shell-completion candidates (bash, zsh, fish; ``nnctl --install-completion``): run ids,
config files and config keys for ``--set``.

The shell runs nnctl on every Tab press, so these read as little as possible: run ids are the
names of the directories under the runs directory (nothing in them is read, and
``nnctl.runs``, which loads numpy, is not imported); config files are the ``*.yaml`` /
``*.yml`` beside the word typed; config keys come from the key table without loading numpy
(optimizer hyperparameters are declared by the optimizers module, which needs numpy, so they
are added only when it is already loaded).
"""

from __future__ import annotations

import os
from pathlib import Path


def _runs_dir() -> Path:
    return Path(os.environ.get("NNCTL_RUNS_DIR") or "runs")


def run_ids(incomplete: str) -> list[str]:
    """Run ids under the runs directory starting with ``incomplete``, newest first, then
    ``latest``."""
    try:
        names = [
            e.name for e in os.scandir(_runs_dir()) if e.is_dir() and e.name.startswith(incomplete)
        ]
    except OSError:
        names = []
    ids = sorted(names, reverse=True)
    return ids + (["latest"] if "latest".startswith(incomplete) else [])


def config_files(incomplete: str) -> list[str]:
    """YAML files (and folders, to descend into) whose path starts with ``incomplete``."""
    folder, _, stem = incomplete.rpartition("/")
    base = Path(folder or ".")
    prefix = f"{folder}/" if folder else ""
    out = []
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    for e in entries:
        if not e.name.startswith(stem) or (e.name.startswith(".") and not stem.startswith(".")):
            continue
        if e.is_dir():
            out.append(f"{prefix}{e.name}/")
        elif e.name.endswith((".yaml", ".yml")):
            out.append(f"{prefix}{e.name}")
    return out


def config_or_run(incomplete: str) -> list[str]:
    return config_files(incomplete) + run_ids(incomplete)


def set_keys(incomplete: str) -> list[str]:
    """``KEY=`` for every config key (dotted for the dataset's) starting with ``incomplete``."""
    import sys

    from nnctl import config

    keys = list(config.CONFIG_KEYS)
    if "nnctl.core.optimizers" in sys.modules:
        keys = list(config.config_keys())
    keys += [f"dataset.{k}" for k in (*config.DATASET_SYNTHETIC_KEYS, *config.DATASET_FILE_KEYS)]
    return [f"{k}=" for k in dict.fromkeys(keys) if k.startswith(incomplete)]
