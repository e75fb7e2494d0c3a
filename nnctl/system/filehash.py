"""SHA-256 of data files, computed once per file version and remembered.

A run records the SHA-256 of every data file it reads (``resume`` refuses changed data by it).
Hashing a large file at every start took longer than loading it (docs/developers/measured-data.md).
The digest is therefore cached in ``$NNCTL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/nnctl``, else
``~/.cache/nnctl``), in ``sha256.json``, keyed by the file's resolved path and checked against its
size, modification time, change time and inode: writing to the file, replacing it or
``touch``-ing it back to an old modification time all change one of them (the change time cannot
be set back), and the file is hashed afresh. The cache is only an optimization: a cache that
cannot be read or written is ignored, and the digest computed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE_ENV = "NNCTL_CACHE_DIR"
CACHE_FILE = "sha256.json"
MAX_ENTRIES = 256  # the most recently hashed files are kept


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nnctl"


def _version(st: os.stat_result) -> list[int]:
    """What identifies one version of a file's contents."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def sha256_uncached(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_cache(file: Path) -> dict:
    try:
        entries = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), from the cache when the file is unchanged since it was hashed."""
    return sha256_cached(path)[0]


def sha256_cached(path: Path) -> tuple[str, bool]:
    """(the file's SHA-256, whether it came from the cache): a run's summary says which."""
    key = str(Path(path).resolve())
    version = _version(os.stat(key))
    file = cache_dir() / CACHE_FILE
    entries = _read_cache(file)
    hit = entries.get(key)
    if (
        isinstance(hit, dict)
        and hit.get("version") == version
        and isinstance(hit.get("sha256"), str)
    ):
        return hit["sha256"], True
    digest = sha256_uncached(Path(key))
    if _version(os.stat(key)) != version:  # changed while being read: remember nothing
        return digest, False
    entries.pop(key, None)
    entries[key] = {"version": version, "sha256": digest}
    for old in list(entries)[:-MAX_ENTRIES]:
        del entries[old]
    # Written whole or not at all (temporary file, then rename), also with two runs at once;
    # not through the run directory's writer: the cache sits below the run directory's owner.
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1) + "\n")
        os.replace(tmp, file)
    except OSError:
        pass  # a read-only or full cache directory: the digest is still right
    return digest, False
