"""The files of a run directory: their names, run ids, and atomic writes.

A run directory ``<runs_dir>/<run_id>/`` holds ``config.yaml`` (the resolved config),
``summary.json`` (status, metrics, provenance, preprocessing; see ``summary.py``),
``history.csv`` and, once training has finished, ``params.npz``; while a run that sets
``checkpoint_every`` trains, also ``checkpoint.npz``. Every file is written to a temporary name,
fsynced and renamed into place, so a reader sees either a whole file or none.

This is the only module that spells these names; everything else uses the constants.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
    """A directory is a run once its summary exists (it is written first and removed first)."""
    return path.is_dir() and (path / SUMMARY_FILE).is_file()


def iter_run_dirs(runs_dir: Path) -> list[Path]:
    """Run directories under ``runs_dir`` (those with a summary), oldest first."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if is_run_dir(p))


# --------------------------------------------------------------------------- atomic writes


def atomic_write(path: Path, data: bytes | Callable[[IO[bytes]], None]) -> None:
    """Writes ``data`` to ``path`` via a temporary file in the same directory, fsync and rename;
    ``data`` may be a function writing to the open file (no copy of it in memory). On any
    failure (e.g. disk full) the temporary file is removed and RunError raised; an existing
    ``path`` is left untouched."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise RunError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
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


def history_csv(
    rows: Iterable[tuple], header: tuple[str, ...] | None = ("iteration", "cost")
) -> str:
    """history.csv's text (``header`` None: the rows alone, to append)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header is not None:
        w.writerow(header)
    for row in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()


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


def save_history(run_dir: Path, rows: Iterable[tuple], header: tuple[str, ...]) -> None:
    write_text(run_dir / HISTORY_FILE, history_csv(rows, header))


class HistoryWriter:
    """history.csv while a run trains: the rows so far are written whole first, then each new
    row is appended, buffered and flushed every FLUSH_SECONDS, so ``runs show`` sees a running
    run's curve and a killed run keeps it up to the last flush. The finished run's history is
    written whole again (``save_history``), with its validation columns."""

    FLUSH_SECONDS = 2.0

    def __init__(self, run_dir: Path, header: tuple[str, ...], rows: Iterable[tuple] = ()) -> None:
        import time

        self._clock = time.monotonic
        path = run_dir / HISTORY_FILE
        save_history(run_dir, rows, header)
        try:
            self._file: Any = open(path, "a", encoding="utf-8", newline="")
        except OSError as exc:
            raise RunError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._rows: list[tuple] = []
        self._last = self._clock()

    def add(self, row: tuple) -> None:
        self._rows.append(row)
        if self._clock() - self._last >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._last = self._clock()
        if self._rows and self._file is not None:
            try:
                self._file.write(history_csv(self._rows, None))  # one write: whole lines
                self._file.flush()
            except OSError:
                pass  # the live curve is a convenience; the final history is written whole
            self._rows = []

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None


@dataclass
class History:
    """history.csv's columns: iterations, costs: (n,); per epoch with a validation set:
    epochs, val_loss, val_accuracy: (e,). ``per_batch``: several iterations per epoch."""

    iterations: np.ndarray
    costs: np.ndarray
    epochs: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    per_batch: bool


def read_history_table(run_dir: Path) -> History:
    """The run's history.csv (columns iteration, cost, and optionally epoch, val_loss,
    val_accuracy); empty arrays when the run has none. Raises RunError when damaged."""
    import numpy as np

    from nnctl.system import MAX_RUN_TEXT_BYTES, read_capped

    path = run_dir / HISTORY_FILE
    try:
        text = read_capped(path, MAX_RUN_TEXT_BYTES).decode("utf-8")
        if not text.endswith("\n") and "\n" in text:
            text = text[: text.rindex("\n") + 1]  # a line cut off by a crash mid-append
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except FileNotFoundError:
        rows = []
    except UnicodeDecodeError:
        raise RunError(f"{path}: damaged (not UTF-8 text)") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read: {exc.strerror or exc}") from None

    def col(name: str, rs: list[dict[str, str]]) -> np.ndarray:
        return np.array([float(r[name]) for r in rs], dtype=float)

    try:
        its, costs = col("iteration", rows), col("cost", rows)
        epoch_of = [int(r["epoch"]) for r in rows] if rows and "epoch" in rows[0] else []
        val_rows = [r for r in rows if r.get("val_loss")]
        # epochs done; full batch (no epoch column): one epoch per iteration
        epochs = np.array(
            [int(r["epoch"] if "epoch" in r else r["iteration"]) + 1 for r in val_rows], dtype=float
        )
        val_loss, val_acc = (
            col("val_loss", val_rows),
            np.array(
                [float(r["val_accuracy"]) if r.get("val_accuracy") else np.nan for r in val_rows],
                dtype=float,
            ),
        )
    except (KeyError, TypeError, ValueError):
        raise RunError(
            f"{path}: damaged (expected columns iteration,cost[,epoch,val_loss,val_accuracy])"
        ) from None
    per_batch = bool(epoch_of) and len(set(epoch_of)) < len(epoch_of)
    return History(its, costs, epochs, val_loss, val_acc, per_batch)


def read_history(run_dir: Path) -> tuple[list[int], list[float]]:
    """The cost history as (iterations, costs); empty lists for a run that has none yet."""
    h = read_history_table(run_dir)
    return [int(i) for i in h.iterations], h.costs.tolist()


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
