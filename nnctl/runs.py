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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nnctl.errors import RunError

RUNS_DIR_ENV = "NNCTL_RUNS_DIR"
DEFAULT_RUNS_DIR = "runs"


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
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{run_dir}: not a run directory (no summary.json)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: damaged or unreadable: {exc}") from None
    if not isinstance(summary, dict):
        raise RunError(f"{path}: damaged (expected a JSON object)")
    return summary


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


@dataclass
class LoadedRun:
    """A checked, complete run: its resolved config, summary and parameters."""

    run_dir: Path
    config: Any  # nnctl.config.Config
    summary: dict[str, Any]
    params: Any  # nnctl.model.Params

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or self.run_dir.name)


def read_params(path: Path) -> dict[str, np.ndarray]:
    """Every array of a params.npz, read up front with ``allow_pickle=False``: an object array is
    refused naming its key (never unpickled), a damaged archive is one RunError."""
    import zipfile

    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RunError(f"{path}: missing (the run saved no parameters)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise RunError(f"{path}: damaged or not an .npz file: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise RunError(f"{path}: expected an .npz archive of W1, b1, ... arrays, found a single array")
    arrays: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise RunError(
                        f"{path}: {key} is an object array; refusing to unpickle it "
                        "(parameters must be plain numeric arrays)"
                    ) from None
                raise RunError(f"{path}: {key}: damaged array: {exc}") from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise RunError(f"{path}: {key}: damaged array: {exc}") from None
    return arrays


def check_params(arrays: dict[str, np.ndarray], layer_dims: list[int], where: Path) -> Any:
    """Checks W1, b1, ..., WL, bL against ``layer_dims`` (W_l: (n_l, n_{l-1}), b_l: (n_l, 1)):
    all present, no others, floating point and finite. Returns ``model.Params``."""
    from nnctl.model import Params

    L = len(layer_dims) - 1
    expected = {}
    for l in range(1, L + 1):
        expected[f"W{l}"] = (layer_dims[l], layer_dims[l - 1])
        expected[f"b{l}"] = (layer_dims[l], 1)
    missing = [k for k in expected if k not in arrays]
    if missing:
        raise RunError(f"{where}: missing {', '.join(missing)} (config.yaml describes {L} layers)")
    extra = sorted(k for k in arrays if k not in expected)
    if extra:
        raise RunError(f"{where}: unexpected arrays {', '.join(extra)} (config.yaml describes {L} layers)")
    for key, shape in expected.items():
        a = arrays[key]
        if a.dtype.kind != "f":
            raise RunError(f"{where}: {key} has dtype {a.dtype}, expected floating point")
        if a.shape != shape:
            raise RunError(f"{where}: {key} has shape {a.shape}, but config.yaml's layer_dims say {shape}")
        if not np.all(np.isfinite(a)):
            raise RunError(f"{where}: {key} contains NaN or infinite values")
    return Params.from_dict(arrays)


def load_run_config(run_dir: Path, summary: dict[str, Any] | None = None) -> Any:
    """The run's config.yaml as a Config. Its relative dataset paths keep the meaning they had
    when the run trained: beside the original config file, whose path summary.json records.
    Raises ConfigError for a damaged config.yaml."""
    import dataclasses

    from nnctl.config import load_config

    summary = read_summary(run_dir) if summary is None else summary
    cfg = load_config(run_dir / "config.yaml")
    recorded = summary.get("config_path")
    return dataclasses.replace(cfg, path=recorded) if isinstance(recorded, str) else cfg


def load_run(run_dir: Path) -> LoadedRun:
    """Loads a run directory for use (predict, evaluate, ...), checking it first: summary.json
    says ``complete``; config.yaml is valid; params.npz holds exactly W1, b1, ..., WL, bL,
    finite and shaped as config.yaml's ``layer_dims`` say. Raises RunError (or ConfigError for
    a damaged config.yaml), one line each."""
    from nnctl.errors import ConfigError

    summary = read_summary(run_dir)
    status = summary.get("status")
    if status != "complete":
        why = f": {summary['message']}" if summary.get("message") else ""
        hint = " (still training, or killed without a chance to record it)" if status == "running" else ""
        raise RunError(f"{run_dir}: run is {status}{hint}{why}; only a complete run can be used")
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise RunError(f"{config_path}: missing; the run directory is damaged")
    try:
        cfg = load_run_config(run_dir, summary)
    except ConfigError as exc:
        raise RunError(f"damaged run config: {exc}") from None
    dims = cfg.layer_dims
    if dims[0] == "auto":
        raise RunError(f"{config_path}: layer_dims[0] is 'auto'; a trained run records the input size")
    params = check_params(read_params(run_dir / "params.npz"), dims, run_dir / "params.npz")
    return LoadedRun(run_dir, cfg, summary, params)
