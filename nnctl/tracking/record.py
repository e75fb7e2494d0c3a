"""A run directory as the trackers log it: its curves with their steps, its final scores, its
config (text and flattened), the tags that say where it came from and the files to attach.
Read from the run's own files (``nnctl.runs``), so a run is logged the same whether it was
tracked while it trained or brought in afterwards (``nnctl runs track``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnctl import runs
from nnctl.runs import RunSummary
from nnctl.system import RunError

REPORT_FILE = "report.html"  # where train --report writes the run's report
ARTIFACTS = (runs.CONFIG_FILE, runs.SUMMARY_FILE, runs.PARAMS_FILE, REPORT_FILE)
"""The run's files attached to its tracked run, those that exist, in this order."""

Curve = list[tuple[int, float]]  # (step: the iteration, value)


@dataclass
class RunRecord:
    """What is logged of one run. Steps are iterations (0-based, as history.csv counts them);
    a validation metric's step is its epoch's last iteration, so every curve shares one axis."""

    run_id: str
    run_dir: Path
    summary: RunSummary
    config_text: str
    params: dict[str, Any]  # the flattened config: dotted keys -> value
    curves: dict[str, Curve] = field(default_factory=dict)  # cost, val_loss, ...
    scores: dict[str, float] = field(default_factory=dict)  # final: train_accuracy, ...
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)

    @property
    def layers(self) -> list[tuple[int, int, str, int]]:
        """(layer, units, activation, parameters) for layers 1..L."""
        dims = list(self.summary.layer_dims or [])
        acts = list(self.summary.activations or [])
        return [
            (
                l,
                int(dims[l]),
                acts[l - 1] if l - 1 < len(acts) else "?",
                dims[l] * (dims[l - 1] + 1),
            )
            for l in range(1, len(dims))
        ]


def logged_steps(n: int, every: int) -> list[int]:
    """The iterations whose cost is logged: every ``every``-th (those the training display
    prints, ``print_every``) and the last."""
    steps = list(range(0, n, max(1, every)))
    if n and steps[-1] != n - 1:
        steps.append(n - 1)
    return steps


def read_record(run_dir: Path) -> RunRecord:
    """The run in ``run_dir`` as the trackers log it. Raises RunError for a directory that is
    no run, or a run still training (its files are not final)."""
    if not runs.is_run_dir(run_dir):
        raise RunError(f"{run_dir}: not a run directory (no {runs.SUMMARY_FILE})")
    summary = runs.read_summary(run_dir)
    if summary.status == "running":
        raise RunError(f"{run_dir}: the run is still training; track it when it has ended")
    text = runs.read_config_text(run_dir) or ""
    params = dict(summary.config or {})
    every = int(params.get("print_every") or 100)
    h = runs.read_history_table(run_dir)
    n = len(h.costs)
    curves: dict[str, Curve] = {}
    if n:
        curves["cost"] = [(int(h.iterations[i]), float(h.costs[i])) for i in logged_steps(n, every)]
    if h.learning_rate is not None and len(h.learning_rate) == n and n:
        curves["learning_rate"] = [
            (int(h.iterations[i]), float(h.learning_rate[i])) for i in logged_steps(n, every)
        ]
    if len(h.val_loss):
        # the epoch's last iteration: epochs done * steps per epoch - 1 (full batch: 1)
        m, bs = summary.dataset.get("n_train"), params.get("batch_size")
        per_epoch = -(-int(m) // min(int(bs), int(m))) if m and bs else 1
        steps = [int(e) * per_epoch - 1 for e in h.epochs]
        curves["val_loss"] = list(zip(steps, map(float, h.val_loss)))
        acc = [(s, float(a)) for s, a in zip(steps, h.val_accuracy) if math.isfinite(a)]
        if acc:
            curves["val_accuracy"] = acc
    scores = {k: float(v) for k, v in summary.scores.items() if v is not None}
    if summary.final_cost is not None:
        scores["cost"] = float(summary.final_cost)  # logged as final/cost
    return RunRecord(
        run_id=run_dir.name,
        run_dir=run_dir,
        summary=summary,
        config_text=text,
        params=params,
        curves=curves,
        scores=scores,
        tags=_tags(run_dir.name, summary),
        artifacts=[run_dir / f for f in ARTIFACTS if (run_dir / f).is_file()],
    )


def key_name(name: str) -> str:
    """A name as MLflow's stores all take it: alphanumerics, ``_ - . : /`` and spaces (a data
    role ``train+test`` becomes ``train_test``)."""
    return re.sub(r"[^\w\-. :/]", "_", name)


def _tags(run_id: str, s: RunSummary) -> dict[str, str]:
    """Where the run came from: its id and status, the data (each source's hash, or the
    generator's settings), the versions, the BLAS libraries and the CPU."""
    tags = {
        "nnctl.run_id": run_id,
        "nnctl.status": str(s.status),
        "nnctl.version": str(s.nnctl_version),
        "numpy.version": str(s.numpy_version),
        "python.version": str(s.python_version),
        "cpu": str(s.cpu),
    }
    if s.blas:
        tags["blas"] = "; ".join(
            f"{b.get('internal_api')} {b.get('version')} {b.get('architecture') or ''}".strip()
            + f" threads={b.get('num_threads')}"
            for b in s.blas
        )
    for src in s.sources:
        role = key_name(str(src.get("role") or "data"))
        if src.get("sha256"):
            tags[f"data.{role}.sha256"] = str(src["sha256"])
            if src.get("path"):
                tags[f"data.{role}.path"] = str(src["path"])
        elif src.get("synthetic"):
            tags[f"data.{role}"] = " ".join(
                f"{k}={v}" for k, v in src.items() if k not in ("role",)
            )
    return tags
