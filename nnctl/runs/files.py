"""The files of a run directory: their names, run ids, and atomic writes.

A run directory ``<runs_dir>/<run_id>/`` holds ``config.yaml`` (the resolved config),
``summary.json`` (status, metrics, provenance, preprocessing; see ``summary.py``),
``history.csv`` (see ``history.py``) and, once training has finished, ``params.npz``; while a
run that sets ``checkpoint_every`` trains, also ``checkpoint.npz``. Every file is written to a
temporary name, fsynced and renamed into place, so a reader sees either a whole file or none.

``params.npz`` holds the parameters under the course's names: ``W1, b1, ..., WL, bL`` with
W_l: (n_l, n_{l-1}) and b_l: (n_l, 1). A hidden layer l trained with batch normalization
(``batch_norm``) has no b_l; in its place ``gamma{l}`` and ``beta{l}`` (trained: the scale and
the shift of the normalized Z, beta replacing the bias) and ``running_mean{l}`` and
``running_var{l}`` (the exponentially weighted averages of the mini-batches' mean and variance,
which predict, evaluate and export use), each (n_l, 1). The order in the file is W1, then
layer 1's b1 (or gamma1, beta1, running_mean1, running_var1), then W2, and so on.

This is the only module that spells these names; everything else uses the constants.
"""

from __future__ import annotations

import errno
import io
import json
import os
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from nnctl.system import RunError

SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
PARAMS_FILE = "params.npz"
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "checkpoint.npz"

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


def is_run_dir(path: Path) -> bool:
    """A directory is a run once its summary exists (it is written first and removed first).
    A name the system cannot look up (too long, ...) is no run."""
    try:
        return path.is_dir() and (path / SUMMARY_FILE).is_file()
    except OSError:
        return False


def iter_run_dirs(runs_dir: Path) -> list[Path]:
    """Run directories under ``runs_dir`` (those with a summary), oldest first."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if is_run_dir(p))


# --------------------------------------------------------------------------- atomic writes


def create_temp(path: Path, attempts: int = 100) -> tuple[int, Path]:
    """A new temporary file beside ``path`` (``.<name>.<random>.tmp``), opened for writing.

    Created with mode 0666 less the umask, as any Unix tool creates a file: ``mkstemp``'s 0600
    would survive the rename and make every output private whatever the user's umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(attempts):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {path.name}")


Payload = bytes | Callable[[IO[bytes]], None]


def atomic_write(path: Path, data: Payload) -> None:
    """Writes ``data`` to ``path`` via a temporary file in the same directory, fsync and rename;
    ``data`` may be a function writing to the open file (no copy of it in memory). On any
    failure (e.g. disk full) the temporary file is removed and RunError raised; an existing
    ``path`` is left untouched. The file's mode follows the umask (``create_temp``)."""
    atomic_write_all([(path, data)])


def atomic_write_all(items: list[tuple[Path, Payload]]) -> None:
    """Writes several files that belong together (an export's arrays and their sidecar) so that
    all of them appear or none: each is written to its temporary file and fsynced, and only
    when every one is complete are they renamed into place. On a failure before the renames
    every temporary file is removed and the existing files are left untouched; RunError names
    the file that failed."""
    temps: list[Path] = []
    path = items[0][0] if items else Path()
    try:
        for path, data in items:
            fd, tmp = create_temp(path)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                if callable(data):
                    data(f)
                else:
                    f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for (path, _), tmp in zip(items, list(temps)):
            os.replace(tmp, path)
            temps.remove(tmp)
        for parent in dict.fromkeys(p.parent for p, _ in items):
            fsync_dir(parent)
    except OSError as exc:
        raise RunError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def fsync_dir(directory: Path) -> None:
    """Makes a rename in ``directory`` durable: without it a power loss can undo the rename
    even though the file's data was synced."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory; the rename stands anyway
        pass
    finally:
        os.close(fd)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode())


def params_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz of plain numeric arrays (loadable with allow_pickle=False)."""
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_params(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays))  # streamed: no second copy in memory


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one run's files


def save_config_text(run_dir: Path, text: str) -> None:
    """The run's resolved config (``config.dump_config``)."""
    write_text(run_dir / CONFIG_FILE, text)


def read_config_text(run_dir: Path) -> str | None:
    """The run's config file as text; None when it is missing."""
    from nnctl.system import MAX_CONFIG_BYTES, read_capped

    try:
        return read_capped(run_dir / CONFIG_FILE, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise RunError(f"{run_dir / CONFIG_FILE}: damaged (not UTF-8 text)") from None
    except OSError as exc:
        raise RunError(f"{run_dir / CONFIG_FILE}: cannot read: {exc.strerror or exc}") from None


def config_file(run_dir: Path) -> Path:
    """Where the run's resolved config is (for messages and ``load_config``)."""
    return run_dir / CONFIG_FILE


def params_file(run_dir: Path) -> Path:
    return run_dir / PARAMS_FILE


def save_params(run_dir: Path, arrays: dict[str, np.ndarray]) -> None:
    """The trained W1, b1, ..., WL, bL; W_l: (n_l, n_{l-1}), b_l: (n_l, 1)."""
    write_params(run_dir / PARAMS_FILE, arrays)


def checkpoint_file(run_dir: Path) -> Path:
    return run_dir / CHECKPOINT_FILE


def has_checkpoint(run_dir: Path) -> bool:
    return (run_dir / CHECKPOINT_FILE).is_file()


def remove_checkpoint(run_dir: Path) -> None:
    """A complete run needs no checkpoint: its parameters are saved."""
    (run_dir / CHECKPOINT_FILE).unlink(missing_ok=True)


def summary_file(run_dir: Path) -> Path:
    return run_dir / SUMMARY_FILE
