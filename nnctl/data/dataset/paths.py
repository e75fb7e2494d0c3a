"""Where a dataset's files are (``resolve_path``: as given, beside the config, under
``$NNCTL_DATA_DIR``) and their SHA-256, cached per file version."""

from __future__ import annotations

import os
from pathlib import Path

from nnctl.system import DataError

DATA_DIR_ENV = "NNCTL_DATA_DIR"


def resolve_path(path: str, config_file: str | None = None) -> Path:
    """A dataset path: as given (relative to the working directory), then relative to the
    folder of the config file that names it, then under $NNCTL_DATA_DIR (the path itself, then
    its file name). Raises DataError naming every absolute path searched."""
    p = Path(path).expanduser()
    candidates = [p]
    env = os.environ.get(DATA_DIR_ENV)
    if not p.is_absolute():
        if config_file:
            candidates.append(Path(config_file).parent / p)
        if env:
            candidates += [Path(env) / p, Path(env) / p.name]
    for c in candidates:
        try:
            if c.is_file() or c.is_dir():  # a folder: an image dataset
                return c
        except OSError:  # a name the system cannot look up (too long, ...): not there
            pass
    searched = ", ".join(dict.fromkeys(os.path.normpath(c.absolute()) for c in candidates))
    named = f", named in {config_file}" if config_file else ""
    hint = "" if env else f"; set {DATA_DIR_ENV} to the folder that holds it, or copy it into data/"
    raise DataError(f"{path}: data file not found (searched {searched}{named}){hint}")


def sha256_cached(path: Path) -> tuple[str, bool]:
    """(the file's SHA-256, whether it came from the cache): hashing many GB on every run
    costs minutes, so ``nnctl.system.filehash`` remembers it per version of the file."""
    from nnctl.system import sha256_cached as cached

    return cached(path)
