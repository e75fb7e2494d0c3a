"""A finished training recorded in its run's summary: ``record_result`` scores it on each
split and fills the summary's status, length, time and scores. The one place a run
(``train``) and a sweep's trial (``nnctl.sweep.trial``) fill a summary from a TrainResult."""

from __future__ import annotations

import math

from nnctl import runs
from nnctl.config import Config
from nnctl.data import Dataset
from nnctl.runs import RunSummary
from nnctl.training import Scores, TrainResult, score


def record_result(
    cfg: Config,
    ds: Dataset,
    summary: RunSummary,
    result: TrainResult,
    *,
    scored: tuple[str, ...] = ("complete",),
    earlier_seconds: float = 0.0,
) -> dict[str, Scores]:
    """Scores a finished training on each split and records it in ``summary``: status (a
    complete run whose last update overflowed is diverged), steps, time (plus
    ``earlier_seconds`` of a resumed run's earlier segments), final cost and, for a status in
    ``scored``, the scores. The one place a run (``_finish``) and a sweep's trial fill a summary
    from a TrainResult. Returns the scores by split."""
    scores: dict[str, Scores] = {}
    if result.status in scored and result.params.all_finite():
        scores = {
            split: score(result.params, cfg, *ds.split(split), keep_outputs=False)
            for split, X in (("train", ds.X_train), ("val", ds.X_val), ("test", ds.X_test))
            if X is not None
        }
    if result.status == "complete" and (not scores or scores["train"].finite_loss is None):
        # the cost is checked before each update, so only the last update can get here
        result.status = "diverged"
        result.message = (
            f"the parameters or the cost became infinite or NaN in the last update; "
            f"try a smaller learning_rate than {cfg.learning_rate}"
        )
    summary.status, summary.finished, summary.message = (
        result.status,
        runs.utc_now(),
        result.message or None,
    )
    summary.iterations_done, summary.epochs_done = len(result.costs), result.epochs
    summary.seconds = round(result.seconds + earlier_seconds, 4)
    summary.final_cost = result.costs[-1] if result.costs else None
    summary.scores = {"train_accuracy": None, "test_accuracy": None}
    if cfg.early_stopping is not None:
        summary.best_epoch, summary.stopped_early = result.best_epoch, result.stopped_early
    if result.status in scored:
        for split, split_scores in scores.items():
            # JSON has no inf/NaN: a score that overflowed is recorded as null
            summary.scores.update(
                {
                    f"{split}_{k}": v if math.isfinite(v) else None
                    for k, v in split_scores.summary().items()
                }
            )
        if ds.X_val is not None and "val" in scores:
            summary.scores["val_loss"] = scores["val"].finite_loss
            if ds.W_val is not None and not hasattr(ds.X_val, "blocks"):
                # weighted as the per-epoch validation loss (early stopping's) is; the
                # accuracies stay plain shares of examples
                summary.scores["val_loss"] = score(
                    result.params, cfg, ds.X_val, ds.Y_val, keep_outputs=False, weights=ds.W_val
                ).finite_loss
    return scores
