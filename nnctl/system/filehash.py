"""SHA-256 of data files, computed once per file version and remembered.

A run records the SHA-256 of every data file it reads (``resume`` refuses changed data by it).
Hashing a large file at every start took longer than loading it (docs/developers/measured-data.md).
The digest is therefore cached in ``$NNCTL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/nnctl``, else
``~/.cache/nnctl``), in ``sha256.json``, keyed by the file's resolved path and checked against its
size, modification time, change time and inode: writing to the file, replacing it or
``touch``-ing it back to an old modification time all change one of them (the change time cannot
be set back), and the file is hashed afresh. The cache is only an optimization: a cache that
cannot be read or written, or is damaged in any way (not a regular file, too large, not JSON,
nested too deep, entries of the wrong shape), is ignored, and the digest computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from pathlib import Path

from nnctl.system.resources import read_capped

CACHE_ENV = "NNCTL_CACHE_DIR"
CACHE_FILE = "sha256.json"
MAX_ENTRIES = 256  # the most recently hashed files are kept
# 256 entries of a path (at most 4 KiB) and a digest: anything larger is not this cache.
MAX_CACHE_BYTES = 2 << 20
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


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


def _is_entry(value: object) -> bool:
    """One cache entry as this module writes it: ``{"version": [4 ints], "sha256": hex}``."""
    if not isinstance(value, dict):
        return False
    version, digest = value.get("version"), value.get("sha256")
    return (
        isinstance(version, list)
        and len(version) == 4
        and all(type(v) is int for v in version)
        and isinstance(digest, str)
        and _HEX_DIGEST.fullmatch(digest) is not None
    )


def _read_cache(file: Path) -> dict:
    """The cache's valid entries; {} for a cache that is missing, not a regular file (a FIFO
    would block the open), too large, not JSON, nested too deep or of the wrong shape."""
    try:
        entries = json.loads(read_capped(file, MAX_CACHE_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if _is_entry(v)}


def _write_cache(file: Path, entries: dict) -> None:
    """Written whole or not at all (temporary file, then rename), also with two runs at once;
    not through the run directory's writer: the cache sits below the run directory's owner.
    A cache that cannot be written (read-only, full, a directory in its place) is left as it
    is, and no temporary file with it."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(entries, indent=1) + "\n")
        os.replace(tmp, file)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), from the cache when the file is unchanged since it was hashed."""
    return sha256_cached(path)[0]


def sha256_cached(path: Path) -> tuple[str, bool]:
    """(the file's SHA-256, whether it came from the cache): a run's summary says which."""
    key = str(Path(path).resolve())
    version = _version(os.stat(key))
    try:
        file = cache_dir() / CACHE_FILE
    except (RuntimeError, KeyError):  # no home directory to find the cache in
        return sha256_uncached(Path(key)), False
    entries = _read_cache(file)
    hit = entries.get(key)
    if hit is not None and hit["version"] == version:
        return hit["sha256"], True
    digest = sha256_uncached(Path(key))
    if _version(os.stat(key)) != version:  # changed while being read: remember nothing
        return digest, False
    entries.pop(key, None)
    entries[key] = {"version": version, "sha256": digest}
    for old in list(entries)[:-MAX_ENTRIES]:
        del entries[old]
    _write_cache(file, entries)
    return digest, False
