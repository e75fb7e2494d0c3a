"""Run directories: unique ids, atomic writes, and the files a run leaves behind.

A run directory ``<runs_dir>/<run_id>/`` holds ``config.yaml`` (the resolved config),
``summary.json`` (status, metrics, provenance, preprocessing), ``history.csv`` and, once
training has finished, ``params.npz``. Every file is written to a temporary name and renamed
into place, so a reader sees either a whole file or none; ``summary.json``'s ``status`` says
whether the run is ``running``, ``complete``, ``interrupted``, ``diverged`` or ``failed``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nnctl.errors import RunError

RUNS_DIR_ENV = "NNCTL_RUNS_DIR"
DEFAULT_RUNS_DIR = "runs"
STATUSES = ("running", "complete", "interrupted", "diverged", "failed")


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-mmm-xxxx``: sorts by creation time (to the millisecond), with a random
    suffix so that parallel starts in the same millisecond still differ."""
    now = now or datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}-{secrets.token_hex(2)}"


def create_run_dir(runs_dir: Path, attempts: int = 20) -> Path:
    """Creates a fresh run directory exclusively (``mkdir`` fails if it exists: no check-then-
    create race between parallel trainings) and retries with a new id on a collision."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{runs_dir}: cannot create the runs directory: {exc.strerror}") from None
    for _ in range(attempts):
        path = runs_dir / new_run_id()
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(f"{path}: cannot create the run directory: {exc.strerror}") from None
    raise RunError(f"{runs_dir}: could not find a free run id after {attempts} attempts")


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` via a temporary file in the same directory, fsync and rename.
    On any failure (e.g. disk full) the temporary file is removed and RunError raised; an
    existing ``path`` is left untouched."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise RunError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode())


def params_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz of plain numeric arrays (loadable with allow_pickle=False)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_params(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, params_bytes(arrays))


def history_csv(rows: Iterable[tuple], header: tuple[str, ...] = ("iteration", "cost")) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_summary(run_dir: Path) -> dict[str, Any]:
    """summary.json of a run directory. Raises RunError when missing or damaged."""
    path = run_dir / "summary.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{run_dir}: not a run directory (no summary.json)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: damaged or unreadable: {exc}") from None


def iter_run_dirs(runs_dir: Path) -> list[Path]:
    """Run directories under ``runs_dir`` (those with a summary.json), oldest first."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if p.is_dir() and (p / "summary.json").is_file())


def find_run(spec: str, runs_dir: Path | None = None) -> Path:
    """Resolves RUN as a user types it: a path to a run directory, ``latest``, a full run id or
    a unique prefix of one (like git). Raises RunError listing candidates or places searched.

    A spec containing a path separator or ``..`` is taken as a path, never looked up under the
    runs directory, so ``../x`` cannot escape it by accident.
    """
    runs_dir = runs_dir if runs_dir is not None else default_runs_dir()
    looks_like_path = os.sep in spec or "/" in spec or ".." in spec
    if looks_like_path or (Path(spec).is_dir() and (Path(spec) / "summary.json").is_file()):
        p = Path(spec)
        if not p.is_dir():
            raise RunError(f"{spec}: no such run directory")
        if not (p / "summary.json").is_file():
            raise RunError(f"{spec}: not a run directory (no summary.json)")
        return p
    candidates = iter_run_dirs(runs_dir)
    if spec == "latest":
        if not candidates:
            raise RunError(f"no runs in {runs_dir}")
        return candidates[-1]
    exact = [p for p in candidates if p.name == spec]
    if exact:
        return exact[0]
    matches = [p for p in candidates if p.name.startswith(spec)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(f"{spec}: no run with this id or prefix in {runs_dir}")
    shown = ", ".join(p.name for p in matches[:10]) + (" ..." if len(matches) > 10 else "")
    raise RunError(f"{spec}: ambiguous run prefix, {len(matches)} runs match: {shown}")
