"""history.csv, a run's curve: its columns, its writers (whole, or appended while the run
trains) and its reader.

Columns: ``iteration, cost``; with mini-batches also ``epoch``; with a learning-rate schedule
(``lr_schedule`` or ``lr_decay``) also ``learning_rate``, the rate that step's epoch used; with a
validation set also ``val_loss, val_accuracy``, filled on each epoch's last iteration. Floats
are written with ``repr``, so a run's costs read back bit for bit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from nnctl.config import Config
    from nnctl.training import OnIteration, TrainResult, TrainState

from nnctl.runs.files import HISTORY_FILE, write_text
from nnctl.system import RunError

# --------------------------------------------------------------------------- columns


def history_header(cfg: Config, m: int, val: bool = False) -> tuple[str, ...]:
    """history.csv's columns for ``cfg`` trained on m examples: iteration, cost; epoch with
    mini-batches; learning_rate with a schedule; val_loss and val_accuracy with a validation
    set."""
    from nnctl.training import batch_count

    header: tuple[str, ...] = ("iteration", "cost")
    if batch_count(cfg, m) > 1:
        header += ("epoch",)
    if cfg.schedule is not None:
        header += ("learning_rate",)
    if val or cfg.validation_fraction > 0 or cfg.dataset.get("val"):
        header += ("val_loss", "val_accuracy")
    return header


def history_rows(
    cfg: Config, result: TrainResult | TrainState, m: int
) -> tuple[tuple[str, ...], list[tuple]]:
    """history.csv of a training (its result, or the state a resumed run goes on from): one
    row per iteration (iteration, cost); with mini-batches also the epoch; with a schedule the
    learning rate; with a validation set also val_loss and val_accuracy, on each epoch's last
    iteration."""
    import math

    from nnctl.training import batch_count, learning_rate_at

    n_batches = batch_count(cfg, m)
    mini = n_batches > 1
    val = {int(i): (loss, acc) for i, loss, acc in result.val_rows}
    header = history_header(cfg, m, bool(val))
    rows = []
    for i, cost in enumerate(result.costs):
        row: list = [i, cost]
        if mini:
            row.append(i // n_batches)
        if cfg.schedule is not None:
            row.append(learning_rate_at(cfg, i // n_batches))
        if len(header) > len(row):
            loss, acc = val.get(i, ("", ""))
            row += [loss, "" if isinstance(acc, float) and math.isnan(acc) else acc]
        rows.append(tuple(row))
    return header, rows


# --------------------------------------------------------------------------- writing


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


def live_history(
    writer: HistoryWriter,
    header: tuple[str, ...],
    n_batches: int,
    on_iteration: OnIteration | None,
    cfg: Config | None = None,
) -> OnIteration:
    """The loop's per-step callback with history.csv appended as training goes (validation
    columns stay empty until the finished run's history is written whole). ``cfg``: the run's
    config, for the learning_rate column when ``header`` has one."""
    from nnctl.training import learning_rate_at

    lr_of = (lambda e: (learning_rate_at(cfg, e),)) if "learning_rate" in header else None
    known = 2 + (n_batches > 1) + (lr_of is not None)
    add, blanks = writer.add, ("",) * (len(header) - known)

    def live(i: int, cost: float) -> None:
        epoch = i // n_batches
        row = (i, cost, epoch) if n_batches > 1 else (i, cost)
        add((*row, *lr_of(epoch), *blanks) if lr_of is not None else (*row, *blanks))
        if on_iteration is not None:
            on_iteration(i, cost)

    return live


# --------------------------------------------------------------------------- reading


@dataclass
class History:
    """history.csv's columns: iterations, costs: (n,); per epoch with a validation set:
    epochs, val_loss, val_accuracy: (e,). ``per_batch``: several iterations per epoch.
    learning_rate: (n,), each step's rate, with a schedule; else (0,)."""

    iterations: np.ndarray
    costs: np.ndarray
    epochs: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    per_batch: bool
    learning_rate: np.ndarray | None = None


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
        rates = col("learning_rate", rows) if rows and "learning_rate" in rows[0] else col("", [])
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
            f"{path}: damaged (expected columns "
            "iteration,cost[,epoch][,learning_rate][,val_loss,val_accuracy])"
        ) from None
    per_batch = bool(epoch_of) and len(set(epoch_of)) < len(epoch_of)
    return History(its, costs, epochs, val_loss, val_acc, per_batch, rates)


def read_history(run_dir: Path) -> tuple[list[int], list[float]]:
    """The cost history as (iterations, costs); empty lists for a run that has none yet."""
    h = read_history_table(run_dir)
    return [int(i) for i in h.iterations], h.costs.tolist()
