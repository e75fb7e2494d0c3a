"""Learning curves: a run's config trained again on growing shares of its training split, each
share an ordinary run linked to the parent (``learning_curve`` in its summary), all scored on
the parent's validation split, and the reading of the curve (the gap closing, both errors high
and flat, the validation error still falling at full size).

The shares are nested (each larger one holds every example of the smaller ones), seeded by the
config's seed (``STREAM_LEARNING_CURVE``) and, for classifiers, stratified: every class keeps
its share. They are cut from the training split as the parent trained on it (after the
validation split was held out, normalized with the whole split's statistics), so that the
number of examples is all that changes between the points."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.commands.diagnose.diagnosis import TOLERANCE
from nnctl.commands.diagnose.errors import check_baseline
from nnctl.commands.train import train_run
from nnctl.data import Dataset
from nnctl.runs import LoadedRun, RunSummary
from nnctl.system import STREAM_LEARNING_CURVE, OptionError, RunError, UsageError, rng_for
from nnctl.training import bind

SIZES = (0.1, 0.25, 0.5, 1.0)
"""The shares of the training split trained on when none are given."""

LINK_KEY = "learning_curve"
"""The summary key of a learning curve's run: the parent run's id (``share`` beside it, and
``sizes``: all the shares of its curve)."""


def parse_sizes(text: str) -> tuple[float, ...]:
    """``0.1,0.25,1.0`` as shares: each in (0, 1], increasing, no duplicates. Raises
    OptionError("sizes", ...)."""
    try:
        sizes = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise OptionError(
            "sizes", f"{text!r}: expected shares separated by commas, e.g. 0.1,0.25,0.5,1.0"
        ) from None
    return check_sizes(sizes)


def check_sizes(sizes: tuple[float, ...]) -> tuple[float, ...]:
    """``sizes`` when each is in (0, 1] and they increase strictly. Raises OptionError."""
    if not sizes:
        raise OptionError("sizes", "needs at least one share in (0, 1]")
    for s in sizes:
        if not math.isfinite(s) or not 0 < s <= 1:
            raise OptionError("sizes", f"{s:g} is not a share of the training split in (0, 1]")
    for a, b in zip(sizes, sizes[1:]):
        if b <= a:
            raise OptionError(
                "sizes",
                f"must increase with no duplicates, got {a:g} then {b:g} "
                f"(e.g. {','.join(f'{s:g}' for s in sorted(set(sizes)))})",
            )
    return sizes


def nested_subsets(
    Y: np.ndarray, task: str, sizes: tuple[float, ...], seed: int
) -> list[np.ndarray]:
    """Sorted column indices into a training split with targets ``Y``: (1, m) labels or
    (n_out, m) values, one array per share in ``sizes`` (increasing). A classifier's share s
    takes round(s * m_c) examples of every class c (stratified), a regression's round(s * m),
    always the first ones of one seeded order, so each subset contains the smaller ones. Raises
    OptionError("sizes", ...) for a share of fewer than 2 examples or missing a class."""
    m = int(Y.shape[1])
    rng = rng_for(seed, STREAM_LEARNING_CURVE)
    if task == "classification":
        labels = Y.reshape(-1)
        groups = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    else:
        groups = [rng.permutation(m)]
    subsets = []
    for s in sizes:
        counts = [round(s * len(g)) for g in groups]
        if task == "classification" and min(counts) == 0:
            c = int(np.unique(Y.reshape(-1))[counts.index(0)])
            raise OptionError(
                "sizes",
                f"{s:g} of the {m} training examples has no example of class {c} "
                f"({len(groups[counts.index(0)])} in all); use a larger share",
            )
        if sum(counts) < 2:
            raise OptionError(
                "sizes",
                f"{s:g} of the {m} training examples is {sum(counts)}; "
                "each share needs at least 2 (use a larger share)",
            )
        subsets.append(np.sort(np.concatenate([g[:n] for g, n in zip(groups, counts)])))
    return subsets


def keep_columns(ds: Dataset, rows: np.ndarray) -> Dataset:
    """The dataset with its training split cut to the columns ``rows``; validation and test
    as they are."""
    return dataclasses.replace(
        ds,
        X_train=ds.X_train[:, rows],
        Y_train=ds.Y_train[:, rows],
        W_train=None if ds.W_train is None else ds.W_train[rows],
    )


@dataclass(frozen=True)
class Point:
    """One share of the curve: the run trained on it and its errors (1 - accuracy, or MSE)."""

    share: float
    examples: int
    run_id: str
    run_dir: str
    status: str
    train_error: float | None
    val_error: float | None

    @property
    def gap(self) -> float | None:
        if self.train_error is None or self.val_error is None:
            return None
        return self.val_error - self.train_error


@dataclass(frozen=True)
class Reading:
    """What the curve says: ``verdict`` (high bias, gap closing, still falling, variance,
    converged), the words and what to do, and the facts it was read from."""

    verdict: str
    text: str
    gap_closing: bool
    still_falling: bool
    threshold: float


def read_curve(points: list[Point], baseline: float, threshold: float) -> Reading:
    """The course's reading of a learning curve, at the largest share: both errors high (train
    above ``baseline`` by more than ``threshold``) and validation at most ``threshold`` above → high
    bias (the validation error cannot fall much below a training error that high, whatever the
    data); the gap between the errors narrowing (in size) by more than ``threshold`` from the
    smallest share to the largest → more data helps; the validation error still falling by
    more than ``threshold`` between the two largest shares → more data helps; a gap that stays
    → variance; else the curve has converged."""
    scored = [p for p in points if p.train_error is not None and p.val_error is not None]
    if not scored:
        raise RunError("no run of the learning curve was scored (all failed or diverged)")
    first, last = scored[0], scored[-1]
    assert first.gap is not None and last.gap is not None and last.train_error is not None
    assert last.val_error is not None
    falling = len(scored) >= 2 and scored[-2].val_error - last.val_error > threshold  # type: ignore[operator]
    closing = len(scored) >= 2 and abs(first.gap) - abs(last.gap) > threshold
    if last.train_error - baseline > threshold and last.gap <= threshold:
        verdict = "high bias"
        text = (
            "both errors are high and close together and more data will not lower them: "
            "high bias; "
            "try a bigger network (wider or deeper layer_dims) or longer training"
        )
    elif closing:
        verdict = "gap closing"
        text = "the gap between training and validation error closes as data grows: more data helps"
        if falling:
            text += " (the validation error is still falling at full size)"
    elif falling:
        verdict = "still falling"
        text = "the validation error is still falling at full size: more data should help"
    elif last.gap > threshold:
        verdict = "variance"
        text = (
            "a gap between training and validation error that more data no longer closes: "
            "high variance; try regularization (l2, dropout) or a smaller network"
        )
    else:
        verdict = "converged"
        text = "both errors are low and close at full size: the curve has converged"
    return Reading(verdict, text, closing, falling, threshold)


@dataclass(frozen=True)
class LearningCurve:
    """The parent run, the error measured (``metric``), one point per share and the reading."""

    run_id: str
    metric: str
    baseline: float
    points: list[Point]
    reading: Reading

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "metric": self.metric,
            "baseline": self.baseline,
            "scored_on": "val",
            "points": [
                {
                    "share": p.share,
                    "examples": p.examples,
                    "run_id": p.run_id,
                    "run_dir": p.run_dir,
                    "status": p.status,
                    "train_error": p.train_error,
                    "val_error": p.val_error,
                    "gap": p.gap,
                }
                for p in self.points
            ],
            "reading": dataclasses.asdict(self.reading),
        }


@dataclass(frozen=True)
class CurvePlan:
    """What the curve will train, checked before any run is created."""

    run: LoadedRun
    sizes: tuple[float, ...]
    subsets: list[np.ndarray]
    threshold: float
    baseline: float

    @property
    def examples(self) -> list[int]:
        return [int(len(rows)) for rows in self.subsets]


def plan_curve(
    run: LoadedRun, sizes: tuple[float, ...] = SIZES, baseline: float | None = None
) -> CurvePlan:
    """Binds the run's config to its data as training does and cuts the nested shares. Raises
    RunError (the run has no validation split), OptionError (sizes, baseline), ConfigError or
    DataError; nothing is written."""
    sizes = check_sizes(tuple(sizes))
    cfg = run.config
    bound = bind(cfg)
    ds = bound.dataset
    if ds.X_val is None:
        raise RunError(
            f"run {run.run_id} has no validation split to score a learning curve on; train it "
            "with one (validation_fraction: 0.2, or dataset.val) and ask again"
        )
    task = run.summary.task
    subsets = nested_subsets(ds.Y_train, task, sizes, int(cfg.seed))
    if task == "classification":
        threshold = TOLERANCE
    else:  # two percent of the training targets' variance, as diagnose reads regression gaps
        threshold = TOLERANCE * float(np.mean(np.var(np.asarray(ds.Y_train, float), axis=1)))
    given = check_baseline(baseline, task) if baseline is not None else None
    configured = (cfg.diagnose or {}).get("baseline")
    resolved = given if given is not None else float(configured or 0.0)
    return CurvePlan(run, sizes, subsets, threshold, resolved)


def _errors(summary: RunSummary) -> tuple[float | None, float | None]:
    classifier = summary.task == "classification"
    out = []
    for split in ("train", "val"):
        v = summary.metric(f"{split}_accuracy" if classifier else f"{split}_mse")
        out.append(None if v is None else (1.0 - float(v) if classifier else float(v)))
    return out[0], out[1]


OnShare = Callable[[int, int, float, int], None]
OnPoint = Callable[[int, int, Point], None]


@dataclass(frozen=True)
class Share:
    """One share of the curve to train: its place (0 ..), the share, the training split's
    columns it keeps (``rows``) and the keys its run's summary gets (``extra``: the link to
    the parent run)."""

    index: int
    share: float
    rows: np.ndarray
    extra: dict[str, Any]


@dataclass(frozen=True)
class ShareRun:
    """A share's run once it is written."""

    index: int
    run_id: str
    run_dir: Path
    summary: RunSummary


ShareTrainer = Callable[[LoadedRun, list[Share], Path], Iterator[ShareRun]]
"""Trains the shares of a run's config (each on ``keep_columns`` of the bound dataset, with
the share's ``extra`` in its summary), writes each as an ordinary run in the runs directory and
yields it as it is written, in any order. ``one_after_another`` is the default; the sweep layer
has one on Dask (``nnctl.sweep.shares``)."""


def shares_of(plan: CurvePlan) -> list[Share]:
    """The plan's shares to train, each with its link to the parent run."""
    link = {LINK_KEY: plan.run.run_id, "sizes": list(plan.sizes)}
    return [
        Share(i, share, rows, {**link, "share": share})
        for i, (share, rows) in enumerate(zip(plan.sizes, plan.subsets))
    ]


def one_after_another(
    threads: int | None = None,
    on_share: OnShare | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> ShareTrainer:
    """The shares trained here one after another, each through ``train_run`` (its history
    written as it trains). ``on_share(i, n, share, examples)`` before each starts;
    ``on_step(i, total)`` after each of its gradient steps (a progress bar); ``threads``: BLAS
    threads (None: chosen per run)."""

    def train(run: LoadedRun, shares: list[Share], runs_dir: Path) -> Iterator[ShareRun]:
        for sh in shares:
            if on_share is not None:
                on_share(sh.index, len(shares), sh.share, int(len(sh.rows)))
            start, step = _step_hooks(on_step)
            outcome = train_run(
                run.config,
                runs_dir,
                on_start=start,
                on_iteration=step,
                threads=threads,
                prepare=lambda ds, rows=sh.rows: keep_columns(ds, rows),
                extra=sh.extra,
            )
            yield ShareRun(sh.index, outcome.run_id, outcome.run_dir, outcome.summary)

    return train


def _step_hooks(on_step: Callable[[int, int], None] | None) -> tuple[Any, Any]:
    """train_run's on_start and on_iteration that call ``on_step(i, total)`` (None, None
    without it)."""
    if on_step is None:
        return None, None
    total = [0]

    def start(rs: Any) -> None:
        total[0] = rs.total_iterations

    def step(i: int, _cost: float) -> None:
        on_step(i, total[0])

    return start, step


def learning_curve(
    plan: CurvePlan,
    runs_dir: Path,
    on_share: OnShare | None = None,
    threads: int | None = None,
    *,
    trainer: ShareTrainer | None = None,
    on_point: OnPoint | None = None,
) -> LearningCurve:
    """Trains one run per share of ``plan`` with the parent's config, by ``trainer`` (default
    ``one_after_another(threads, on_share)``), and reads the curve. ``on_point(i, n, point)``
    after each share's run is written (in the order they finish). Raises RunFailed when a run
    fails (the runs before it are kept, each a whole run)."""
    run = plan.run
    train = trainer or one_after_another(threads, on_share)
    n = len(plan.sizes)
    got: dict[int, Point] = {}
    for done in train(run, shares_of(plan), runs_dir):
        train_error, val_error = _errors(done.summary)
        point = Point(
            plan.sizes[done.index],
            int(len(plan.subsets[done.index])),
            done.run_id,
            str(done.run_dir),
            done.summary.status,
            train_error,
            val_error,
        )
        got[done.index] = point
        if on_point is not None:
            on_point(done.index, n, point)
    points = [got[i] for i in sorted(got)]
    metric = "error (1 - accuracy)" if run.summary.task == "classification" else "MSE"
    reading = read_curve(points, plan.baseline, plan.threshold)
    return LearningCurve(run.run_id, metric, plan.baseline, points, reading)


PLOT_HINT = "pip install 'nnctl[plot]'  (or: pip install matplotlib)"


def check_plot(out: Path) -> None:
    """Refuses, before anything is trained, a ``--plot`` file that is not a .png in an existing
    folder, or matplotlib missing. Raises UsageError."""
    if out.suffix.lower() != ".png":
        raise UsageError(f"--plot {out}: expected a file ending in .png")
    if not out.parent.is_dir():
        raise UsageError(f"--plot {out}: directory {out.parent} does not exist")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--plot needs matplotlib, which is not installed; install it with: {PLOT_HINT}"
        ) from None


def plot_curve(curve: LearningCurve, out: Path) -> None:
    """Writes a PNG of the training and validation errors against the examples trained on."""
    check_plot(out)
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window or need a display
    import matplotlib.pyplot as plt

    scored = [p for p in curve.points if p.train_error is not None and p.val_error is not None]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        xs = [p.examples for p in scored]
        ax.plot(xs, [p.train_error for p in scored], "o-", label="training", linewidth=1.5)
        ax.plot(xs, [p.val_error for p in scored], "o-", label="validation", linewidth=1.5)
        if curve.baseline > 0:
            ax.axhline(curve.baseline, color="grey", linestyle="--", label="baseline")
        ax.set_xlabel("training examples")
        ax.set_ylabel(curve.metric)
        ax.set_title(f"learning curve of run {curve.run_id}: {curve.reading.verdict}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    runs.atomic_write(out, buf.getvalue())


def linked_curve(run: LoadedRun) -> LearningCurve | None:
    """The learning curve made of ``run`` before, read back from its runs directory: the runs
    whose summary links them to it (``learning_curve``), the newest per share, complete ones
    only (None: there are none). Read with the config's ``diagnose.baseline`` (or 0) and the
    threshold ``plan_curve`` uses (for regression, the training targets' variance from the
    parent's MSE and R²)."""
    linked: list[RunSummary] = []
    for d in sorted(run.run_dir.parent.iterdir()):  # run ids sort by time: oldest first
        if d == run.run_dir or not (d / runs.SUMMARY_FILE).is_file():
            continue
        try:
            s = runs.read_summary(d)
        except RunError:
            continue  # a damaged run is no point of the curve
        if s.extra.get(LINK_KEY) == run.run_id and s.status == "complete":
            linked.append(s)
    if not linked:
        return None
    # the newest curve's shares, each from its newest run (a curve made again replaces them)
    sizes = linked[-1].extra.get("sizes")
    latest: dict[float, RunSummary] = {}
    for s in linked:
        share = s.extra.get("share")
        if not isinstance(share, (int, float)) or isinstance(share, bool):
            continue
        if not isinstance(sizes, list) or share in sizes:
            latest[float(share)] = s
    points = []
    for share in sorted(latest):
        s = latest[share]
        train_error, val_error = _errors(s)
        n = s.dataset.get("n_train")
        points.append(
            Point(
                share,
                int(n) if isinstance(n, int) else 0,
                str(s.run_id),
                str(run.run_dir.parent / str(s.run_id)),
                s.status,
                train_error,
                val_error,
            )
        )
    classifier = run.summary.task == "classification"
    threshold = TOLERANCE
    if not classifier:
        mse, r2 = run.summary.metric("train_mse"), run.summary.metric("train_r2")
        errors = [p.val_error for p in points if p.val_error is not None]
        scale = mse / (1 - r2) if mse and r2 is not None and r2 < 1 else max(errors, default=1)
        threshold = TOLERANCE * float(scale)
    baseline = float((run.config.diagnose or {}).get("baseline") or 0.0)
    metric = "error (1 - accuracy)" if classifier else "MSE"
    try:
        reading = read_curve(points, baseline, threshold)
    except RunError:
        return None
    return LearningCurve(run.run_id, metric, baseline, points, reading)
