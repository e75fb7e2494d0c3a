"""``Run``: one run directory, as ``nnctl runs show``, ``predict``, ``evaluate``, ``report``,
``export``, ``train --resume`` and ``gradcheck`` see it, from Python. Reads its files when asked
(the status of a run another process trains changes); the checked, loaded run that predict and
evaluate use is read once, and again after ``resume``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported by the methods that train: nnctl predict's start-up needs none
    from nnctl.api.session import Callback, TrainDisplay

EXTRA_SCORES = (
    "train_mse",
    "train_r2",
    "test_mse",
    "test_r2",
    "val_loss",
    "val_accuracy",
    "val_r2",
)
"""The scores beyond accuracy a run's ``record`` has when its summary does (regression,
validation), in this order."""


def extra_scores(summary: Any) -> list[tuple[str, Any]]:
    """(key, value) of the ``EXTRA_SCORES`` a summary (``nnctl.runs.RunSummary``) has, then
    ``best_epoch`` when the run stopped early or kept its best epoch."""
    rows = [(k, summary.metric(k)) for k in EXTRA_SCORES if summary.metric(k) is not None]
    if summary.best_epoch is not None:
        rows.append(("best_epoch", summary.best_epoch))
    return rows


class Run:
    """A run directory. ``nnctl.load_run`` finds one; ``nnctl.train`` returns one."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self._loaded: Any = None
        self._tracking: Any = None  # trackers the run is still to be written to

    def __repr__(self) -> str:
        return f"Run({self.id!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        from nnctl.api.display import run_html

        return run_html(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.dir.resolve() == other.dir.resolve()

    def __hash__(self) -> int:
        return hash(self.dir.resolve())

    # ------------------------------------------------------------------ what the run records

    @property
    def id(self) -> str:
        """The run id (the directory's name)."""
        return str(self.summary.run_id or self.dir.name)

    @property
    def summary(self) -> Any:
        """The run's ``RunSummary`` (summary.json), read now."""
        from nnctl.runs import read_summary

        return read_summary(self.dir)

    @property
    def status(self) -> str:
        """complete, running, interrupted, diverged or failed, as ``runs list`` shows it
        (``stale`` for a run whose training process is gone)."""
        from nnctl.runs import is_stale

        s = self.summary
        return "stale" if is_stale(self.dir, s) else str(s.status)

    @property
    def config(self) -> dict[str, Any]:
        """The run's resolved config (config.yaml) as a dict of config keys."""
        from nnctl.runs import load_run_config

        return load_run_config(self.dir).to_dict()

    @property
    def scores(self) -> dict[str, float | None]:
        """The summary's scores: ``{"train_accuracy": ..., "test_accuracy": ..., ...}``."""
        return dict(self.summary.scores)

    @property
    def history(self) -> Any:
        """history.csv as arrays (``nnctl.runs.History``): ``iterations``, ``costs`` (n,);
        ``epochs``, ``val_loss``, ``val_accuracy`` (e,) for a run with a validation set."""
        from nnctl.runs import read_history_table

        return read_history_table(self.dir)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The trained parameters as the course names them: W_l (n_l, n_{l-1}), b_l (n_l, 1).
        Raises RunError for a run that has none (not complete)."""
        return self.loaded().params.to_dict()

    @property
    def resumable(self) -> bool:
        """Whether the run has a checkpoint, so ``resume()`` goes on from where it stopped
        (an interrupted run without one cannot be continued)."""
        from nnctl.runs import has_checkpoint

        return has_checkpoint(self.dir)

    def record(self) -> dict[str, Any]:
        """What ``nnctl train --json`` prints for the run: ``run_id``, ``run_dir``, ``name``,
        ``status``, ``final_cost``, ``train_accuracy``, ``test_accuracy``, ``iterations``
        (steps done), ``seconds``, then the extra scores it has (``train_mse``, ...,
        ``val_loss``, ``best_epoch``). JSON-able: None where the run has no value."""
        s = self.summary
        return {
            "run_id": self.id,
            "run_dir": str(self.dir),
            "name": s.name,
            "status": s.status,
            "final_cost": s.final_cost,
            "train_accuracy": s.metric("train_accuracy"),
            "test_accuracy": s.metric("test_accuracy"),
            "iterations": s.iterations_done,
            "seconds": s.seconds,
            **dict(extra_scores(s)),
        }

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of ``predict_proba``'s columns ([] for regression)."""
        return list((self.summary.preprocessing or {}).get("classes") or [])

    def loaded(self) -> Any:
        """The checked, complete run (``nnctl.runs.LoadedRun``) the commands work from. Raises
        RunError, with ``nnctl predict``'s message, for a run that is not complete."""
        if self._loaded is None:
            from nnctl.runs import load_run

            self._loaded = load_run(self.dir)
        return self._loaded

    # ------------------------------------------------------------------ using it

    def predict(
        self, X: Any, *, threshold: float | None = None, threads: int | None = None
    ) -> np.ndarray:
        """Predicted classes of X: (m, n_features) rows (8-bit images (m, h, w, c) for an image
        run), or of files (a path or a list of paths, as ``nnctl predict`` takes them): (m,)
        ints when the run was trained on numeric labels, else class names; regression values
        (m,) or (m, n_outputs). ``threshold``: binary classifiers' decision threshold."""
        from nnctl.api.scoring import labels_of, predictions

        return labels_of(predictions(self.loaded(), X, threshold, threads), self.classes)

    def predict_proba(self, X: Any, *, threads: int | None = None) -> np.ndarray:
        """Class probabilities (m, K) of X or files (as ``predict``), columns in the order of
        ``classes``. Raises OptionError for a regression run."""
        from nnctl.api.scoring import predictions, probabilities_of

        return probabilities_of(predictions(self.loaded(), X, None, threads), self.classes)

    def predictions(
        self, X: Any, *, threshold: float | None = None, threads: int | None = None
    ) -> list[dict[str, Any]]:
        """``nnctl predict --json``'s records: one dict per example (``input``, ``label``,
        ``class``, ``probability``, ``probabilities``; ``value`` for regression)."""
        from nnctl.api.scoring import predictions

        return predictions(self.loaded(), X, threshold, threads)

    def evaluate(
        self,
        X: Any = None,
        y: Any = None,
        *,
        split: str | None = None,
        threshold: float | None = None,
        threads: int | None = None,
    ) -> Any:
        """Scores, as ``nnctl evaluate``: on arrays X (m, n_features) and y (m,), on a labelled
        data file (``X`` a path), or on the run's own ``split`` (default test, else train).
        Returns an ``Evaluation`` (accuracy, precision, recall, f1, log_loss, confusion (K, K),
        ``to_dict()``) or a ``RegressionEvaluation`` (mse, mae, r2)."""
        from nnctl.api.scoring import evaluation

        return evaluation(self.loaded(), X, y, split, threshold, threads)

    def tune_threshold(self, goal: Any, *, threads: int | None = None) -> tuple[float, Any]:
        """A binary classifier's decision threshold chosen on the run's validation split
        (never the test set), as ``nnctl evaluate --tune-threshold GOAL``: ``goal`` is ``f1``
        (the best F1), ``precision=P`` (the best recall at precision >= P) or ``recall=R``
        (or the ``Goal`` ``nnctl.api.scoring.parse_goal`` read from one).
        Returns the threshold and the validation split's ``Evaluation`` at it. Raises
        OptionError (not a binary classifier, a bad goal) or DataError (no validation split,
        no threshold meets the goal)."""
        from nnctl.api.scoring import tuned
        from nnctl.api.session import check_count

        check_count("threads", threads)
        return tuned(self.loaded(), goal, threads)

    def report(self, path: str | Path = "report.html", *, max_images: int = 24) -> Path:
        """Writes the run's HTML report (``nnctl report``) to ``path``; returns it."""
        return write_report([self], path, max_images=max_images).path

    def export(self, path: str | Path, format: str = "onnx") -> list[Path]:
        """Exports the run (``nnctl export``): ``onnx`` (needs nnctl[export]) or ``npz`` (W1,
        b1, ... and a .json sidecar). Returns the paths written."""
        from nnctl.commands import export_run

        return export_run(self.loaded(), format, Path(path))

    def gradcheck(
        self,
        *,
        examples: int = 8,
        eps: float = 1e-5,
        tol: float = 1e-7,
        max_coords: int = 50,
        seed: int = 0,
    ) -> Any:
        """The trained parameters' gradient check (``nnctl gradcheck RUN``) on ``examples``
        training examples; returns its ``Report`` (``passed``, ``max_relative_error``,
        ``checks``, ``to_json()``)."""
        from nnctl.commands import check_target

        return check_target(
            str(self.dir.absolute()),
            examples=examples,
            eps=eps,
            tol=tol,
            max_coords=max_coords,
            seed=seed,
        )

    def verify(
        self,
        *,
        iterations: int | None = None,
        resume_check: bool = False,
        rtol: float | None = None,
    ) -> Any:
        """Replays the run in a temporary folder and compares it with what it recorded
        (``nnctl verify RUN``): bit for bit when the environment is the recorded one, else within
        ``rtol``. Returns a ``Verification`` (``same``, ``exact``, ``arrays``,
        ``environment``, ``to_json()``); raises RunError for changed data."""
        from nnctl.commands import verify_run

        return verify_run(self.dir, iterations=iterations, resume_check=resume_check, rtol=rtol)

    def resume(
        self,
        more: int | None = None,
        *,
        iterations: int | None = None,
        epochs: int | None = None,
        threads: int | None = None,
        progress: bool | TrainDisplay = False,
        callback: Callback | None = None,
        track: list[str] | None = None,
        defer_tracking: bool = False,
    ) -> Run:
        """Continues the run in its directory (``nnctl train --resume``): an interrupted run
        from its last checkpoint; with ``more`` steps (epochs for a run that counts epochs), or
        a new total ``iterations`` / ``epochs``, any run that is not diverged. Bit for bit the
        run that asked for that length from the start. ``progress``, ``callback``, ``threads``,
        ``track`` (with the run's own ``tracking`` key) and ``defer_tracking`` as
        ``nnctl.train`` takes them. Returns this run; raises as ``train``."""
        import functools

        from nnctl.api.session import as_display, check_count, run_training
        from nnctl.api.tracked import tracked, trackers
        from nnctl.commands import resume_run
        from nnctl.runs import load_run_config
        from nnctl.system import OptionError

        given = {
            k: v
            for k, v in (("more", more), ("iterations", iterations), ("epochs", epochs))
            if v is not None
        }
        if len(given) > 1:
            raise OptionError(next(iter(given)), "give one of more, iterations or epochs")
        for key, value in [*given.items(), ("threads", threads)]:
            check_count(key, value)
        length = {k: v for k, v in given.items() if k != "more"}
        tracking = trackers(load_run_config(self.dir).tracking, track, self.dir.parent)
        start = functools.partial(resume_run, self.dir, more=more, length=length, threads=threads)
        if tracking is not None:
            start = tracked(start, tracking)
        display = as_display(progress)
        self._loaded = None
        try:
            run_training(start, lambda _: self, callback=callback, display=display, threads=threads)
        except BaseException as exc:
            if tracking is not None and getattr(exc, "run", None) is not None:
                exc.run.track_later(tracking)
                if not defer_tracking:
                    exc.run.finish_tracking()
            raise
        if tracking is not None:
            self.track_later(tracking)
            if not defer_tracking:
                self.finish_tracking()
        return self

    def track_later(self, tracking: Any) -> None:
        """Keeps ``tracking`` (``nnctl.tracking.Tracking``) for ``finish_tracking``."""
        self._tracking = tracking

    def finish_tracking(self) -> list[str]:
        """Writes the run to the trackers its training was given with ``defer_tracking=True``
        (nothing when there are none); a tracker that fails is an ``NnctlWarning``. Returns
        the trackers' notes: where the run went."""
        from nnctl.api.tracked import finish

        tracking, self._tracking = self._tracking, None
        return [] if tracking is None else finish(tracking, self.dir)


def load_run(id_or_path: str | Path, *, runs_dir: str | Path | None = None) -> Run:
    """The run named as ``nnctl`` commands take it: a run directory, a run id, a unique prefix
    of one, or ``latest``, in ``runs_dir`` (default: $NNCTL_RUNS_DIR, else ./runs). Raises
    RunError with the commands' message (no such run, ambiguous prefix, ...)."""
    from nnctl.runs import default_runs_dir, find_run

    where = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    return Run(find_run(str(id_or_path), where))


def write_report(
    runs: Sequence[Run | str | Path],
    path: str | Path = "report.html",
    *,
    max_images: int = 24,
    runs_dir: str | Path | None = None,
) -> Any:
    """``nnctl report RUN... -o PATH``: one HTML page about ``runs`` (``Run`` objects, or run
    ids, prefixes, ``latest`` or directories found in ``runs_dir``; each run once). ``path`` is
    checked before any run is read. Returns the report's ``ReportInfo`` (``path``, ``size`` in
    bytes, ``runs``, ``seconds``). Raises UsageError (bad ``path``) or RunError."""
    from nnctl.commands import check_output
    from nnctl.commands import write_report as write

    out = Path(path)
    check_output(out)  # before anything is read: a bad path is found at once
    found = [r if isinstance(r, Run) else load_run(r, runs_dir=runs_dir) for r in runs]
    unique = list({r.dir: r for r in found}.values())
    return write([r.loaded() for r in unique], out, max_images)
