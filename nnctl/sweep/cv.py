"""``nnctl cv``: k-fold cross-validation whose folds are ordinary runs.

The config's training data (what is left once its test split is set aside) is cut into K folds
(``assign_folds``: seeded by the config's seed, stratified for classifiers by default). Fold k's
run trains on the other folds with fold k as its validation data, through the sweep trials'
training path (``trial.run_trial``: ``bind`` then ``fit``, recorded as ``train`` records a run),
and is written as a run linked to its cv record (``cv``/``fold`` in its summary, as a sweep's
trials carry ``sweep``/``trial``; folds are numbered 1 .. K in every record and file, 0 .. K-1
only in ``assign_folds``'s array). The cv directory (``<runs>/cv/<id>/``) holds ``cv.json``
(the folds' runs, the mean and standard deviation of every validation score) and the
out-of-fold predictions (``oof.npz``, ``oof.csv``). No fold is ever chosen as "the best": the
folds estimate how well the config does, they do not pick a model. The cv directory is read
back (its record, the suspect labels) by ``nnctl.runs.cvdir``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import io
import math
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.config import Config
from nnctl.core import LOSSES, Params
from nnctl.data import Dataset, load_dataset, streaming_plan, take
from nnctl.runs.cvdir import CV_DIR, OOF_CSV, OOF_NPZ, RECORD_FILE
from nnctl.system import ConfigError, NnctlError, RunFailed, UsageError
from nnctl.system.seeds import STREAM_FOLDS, rng_for
from nnctl.training import bind, score, total_iterations

NOT_CHOSEN = (
    "no fold is chosen as the best: the folds' scores estimate how well this config does on "
    "new data; train the config on all of its training data for the model to use"
)


def assign_folds(Y: np.ndarray, k: int, stratify: bool, seed: int) -> np.ndarray:
    """(m,) fold index 0 .. k-1 of each column of Y: (1, m) labels or (n_out, m) targets.
    Stratified: each class's examples, in a seeded random order, are dealt to the folds in
    turn, continuing where the previous class ended, so every fold holds floor or ceil of
    m_c / k of class c and the fold sizes differ by at most one. Otherwise a seeded
    permutation is dealt the same way."""
    m = int(Y.shape[1])
    rng = rng_for(seed, STREAM_FOLDS)
    folds = np.empty(m, dtype=np.int64)
    if not stratify:
        folds[rng.permutation(m)] = np.arange(m) % k
        return folds
    labels = np.asarray(Y).reshape(-1)
    start = 0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]
        folds[idx] = (start + np.arange(idx.size)) % k
        start += idx.size
    return folds


def check_folds(Y: np.ndarray, k: int, stratify: bool, classes: list[str], where: str) -> None:
    """Refuses a K the data cannot be cut into (UsageError, one line)."""
    m = int(Y.shape[1])
    if k < 2:
        raise UsageError(f"--folds {k}: cross-validation needs at least 2 folds")
    if k > m:
        raise UsageError(f"--folds {k}: {where} has only {m} training examples")
    if stratify:
        labels, counts = np.unique(np.asarray(Y).reshape(-1), return_counts=True)
        i = int(np.argmin(counts))
        if k > counts[i]:
            name = classes[int(labels[i])] if int(labels[i]) < len(classes) else str(labels[i])
            raise UsageError(
                f"--folds {k}: class {name!r} has only {int(counts[i])} training examples "
                f"in {where}; use at most --folds {int(counts[i])}, or --no-stratify"
            )


@dataclass
class FoldResult:
    """One fold's run as the CLI's progress display shows it."""

    fold: int  # 1 .. k, as every record numbers them
    k: int
    run_id: str
    status: str
    n_train: int
    n_val: int
    scores: dict[str, Any]


@dataclass
class CvRecord:
    """What ``cv.json`` holds: the folds' runs, the statistics of their validation scores
    (``metrics``: name -> {mean, std, folds: [value per fold]}; std is the sample standard
    deviation over the folds, n - 1 in the denominator), and the suspect labels are read from
    the out-of-fold predictions (``suspects``)."""

    cv_id: str
    config_file: str | None
    folds: int
    stratify: bool
    seed: int
    n_examples: int
    task: str
    classes: list[str]
    runs: list[dict[str, Any]]
    metrics: dict[str, dict[str, Any]]
    status: str = "complete"  # "interrupted": Ctrl-C after len(runs) folds; "failed": an error
    note: str = NOT_CHOSEN
    oof_file: str = OOF_NPZ

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def incomplete(self) -> list[dict[str, Any]]:
        """The folds whose run did not complete (diverged): their scores are left out of the
        statistics and their examples have no out-of-fold prediction (NaN)."""
        return [r for r in self.runs if r["status"] != "complete"]


def fold_statistics(scores: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """name -> {mean, std, n, folds} for every validation score (``val_*``) of the folds'
    summaries; a fold without a finite value (diverged) is None in ``folds`` and left out of
    the mean and std, ``n`` says how many folds they are over."""
    names = sorted({k for s in scores for k in s if k.startswith("val_")})
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        values = [s.get(name) for s in scores]
        good = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        out[name] = {
            "mean": statistics.fmean(good) if good else None,
            "std": statistics.stdev(good) if len(good) >= 2 else None,
            "n": len(good),
            "folds": values,
        }
    return out


def cv_config(cfg: Config) -> Config:
    """The folds' config: no hold-out of its own (the fold is the validation data)."""
    return dataclasses.replace(cfg, validation_fraction=0.0)


def load_cv_data(cfg: Config, k: int, stratify: bool | None) -> tuple[Dataset, bool]:
    """The config's dataset, checked for K folds before anything is written; and whether the
    folds are stratified (None: for classifiers). Raises ConfigError, DataError or UsageError."""
    where = cfg.source or "the config"
    if cfg.dataset.get("val"):
        raise ConfigError(
            f"{where}: dataset.val: cross-validation makes its own validation folds of the "
            "training data; remove dataset.val"
        )
    plan = streaming_plan(cfg.dataset, cfg.path, cfg.source, cfg.dtype, cfg.batch_size)
    if plan.stream:
        raise ConfigError(
            f"{where}: the dataset is streamed from disk; nnctl cv needs the training data in "
            "memory (dataset.stream: false)"
        )
    task = LOSSES[cfg.loss].task
    if stratify is None:
        stratify = task == "classification"
    elif stratify and task != "classification":
        raise UsageError(f"--stratify: {where} trains a regression network; use --no-stratify")
    ds = load_dataset(cfg.dataset, cfg.dtype, task, cfg.path)
    check_folds(ds.Y_train, k, stratify, ds.classes, where)
    return ds, stratify


def fold_dataset(ds: Dataset, folds: np.ndarray, k: int) -> Dataset:
    """The dataset whose training set is every fold but ``k`` and whose validation set is
    fold ``k`` (in the examples' order)."""
    return take(ds, np.flatnonzero(folds != k), np.flatnonzero(folds == k))


def _new_cv_dir(stem: str, runs_dir: Path) -> tuple[str, Path]:
    from nnctl.sweep.store import new_stamped_dir

    return new_stamped_dir(stem, runs_dir / CV_DIR, "cv directory", "cv id")


def fold_outputs(cfg: Config, fold_ds: Dataset, params: dict[str, np.ndarray]) -> np.ndarray:
    """The fold's run's outputs on its validation fold, (K, m_fold): the class probabilities
    (two rows for a sigmoid head) or the regression outputs, scored as the run's summary was
    (the fold's examples normalized with its training folds' statistics)."""
    bound = bind(cfg, loaded=fold_ds)
    X, Y = bound.dataset.X_val, bound.dataset.Y_val
    s = score(Params.from_dict(params), bound.cfg, X, Y)
    head = LOSSES[bound.cfg.loss].head
    AL = np.asarray(s.AL, dtype=np.float64)
    return AL if head.probabilities is None else head.probabilities(AL)


def train_fold(
    data: Dataset,
    cfg: Config,
    folds: np.ndarray,
    f: int,
    threads: int | None = 1,
    on_iteration: Callable[[int, float], None] | None = None,
) -> tuple[Any, np.ndarray | None]:
    """Fold ``f``'s (0 .. K-1) training, on the client or a Dask worker alike: the run's
    contents (``trial.TrialResult``) trained on ``data`` (the config's whole training data,
    as ``load_cv_data`` read it) less fold f, and its outputs on fold f (``fold_outputs``;
    None when the run has no parameters). ``threads``: BLAS threads for both (None: as they
    are)."""
    from nnctl.sweep.trial import run_trial
    from nnctl.system import threads as blas

    fds = fold_dataset(data, folds, f)
    result = run_trial(cfg, fds, threads=threads, on_iteration=on_iteration)
    if result.params is None:
        return result, None
    with blas.blas_threads(threads):
        return result, fold_outputs(cfg, fds, result.params)


def run_cv(
    cfg: Config,
    k: int,
    runs_dir: Path,
    *,
    stratify: bool | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_fold: Callable[[FoldResult], None] | None = None,
    on_start: Callable[[str, int, bool], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> tuple[CvRecord, Path]:
    """Cross-validates ``cfg`` with ``k`` folds; returns the record and the cv directory. The
    folds run one after another, or, given ``workers`` (a local Dask cluster of that many
    processes) or ``scheduler`` (a Dask scheduler's address), as Dask tasks
    (``engine.tasks``): the same ``train_fold`` on the same folds and seeds either way, each
    fold's run written here as it finishes. Everything that can be refused (K, the data, the
    config against the data, the Dask extra, the scheduler) is refused before anything is
    written; then ``on_start(cv_id, m, stratified)``, and ``on_fold`` after each fold's run is
    written (in the order they finish), ``on_step(fold, i, total)`` after each gradient step
    of a fold (1 .. K) that makes ``total`` (one after another only), ``on_notice(line)``
    for the cluster's notices (a capped --workers, a worker lost). ``threads``: BLAS threads
    (None: as they are; 1 per Dask worker). Raises ConfigError, DataError, UsageError or
    RunError."""
    from nnctl.sweep.engine.tasks import check_cluster_options, task_pool

    parallel = check_cluster_options(workers, scheduler)
    ds, stratify = load_cv_data(cfg, k, stratify)
    child = cv_config(cfg)
    folds = assign_folds(ds.Y_train, k, stratify, cfg.seed)
    bind(child, loaded=fold_dataset(ds, folds, 0))  # the config against the data, nothing written
    stem = Path(cfg.path).stem if cfg.path else "cv"
    with (
        task_pool(workers, scheduler, k, f"{k} folds", on_notice)
        if parallel
        else contextlib.nullcontext()
    ) as pool:
        cv_id, cv_dir = _new_cv_dir(stem, runs_dir)
        if on_start is not None:
            on_start(cv_id, int(ds.Y_train.shape[1]), stratify)
        if pool is not None:
            if on_notice is not None:
                at = f" at {scheduler}" if scheduler else ""
                on_notice(f"the folds run on {pool.slots} Dask worker(s){at}")
            blas_threads = 1 if threads is None else threads
            results = pool.map(
                train_fold,
                [(child, folds, f, blas_threads) for f in range(k)],
                child,
                ds,
                f"{cv_id}-fold",
                lambda f: f"fold {f + 1}",
            )
        else:
            results = _one_after_another(ds, child, folds, k, threads, on_step)
        with contextlib.closing(results):
            record = _collect(
                results, cfg, k, stratify, ds, folds, cv_id, cv_dir, runs_dir, on_fold
            )
    return record, cv_dir


def _one_after_another(
    ds: Dataset,
    child: Config,
    folds: np.ndarray,
    k: int,
    threads: int | None,
    on_step: Callable[[int, int, int], None] | None,
) -> Iterator[tuple[int, tuple[Any, np.ndarray | None]]]:
    for f in range(k):
        step = None
        if on_step is not None:
            total = total_iterations(child, int(np.count_nonzero(folds != f)))
            step = functools.partial(_step, on_step, f + 1, total)
        yield f, train_fold(ds, child, folds, f, threads, step)


def _collect(
    results: Iterator[tuple[int, tuple[Any, np.ndarray | None]]],
    cfg: Config,
    k: int,
    stratify: bool,
    ds: Dataset,
    folds: np.ndarray,
    cv_id: str,
    cv_dir: Path,
    runs_dir: Path,
    on_fold: Callable[[FoldResult], None] | None,
) -> CvRecord:
    """Writes each fold's run as it comes back, then the cv record (also when interrupted:
    the folds done are ordinary runs already, and the record says how far it got)."""
    m = int(ds.Y_train.shape[1])
    task = LOSSES[cfg.loss].task
    outputs: np.ndarray | None = None
    done: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # fold -> (its row, scores)

    def finish(status: str = "complete") -> CvRecord:
        order = sorted(done)  # by fold, whatever order they finished in
        return _finish(
            cv_dir,
            cfg,
            k,
            stratify,
            m,
            task,
            ds,
            [done[f][0] for f in order],
            [done[f][1] for f in order],
            folds,
            outputs,
            status,
        )

    try:
        for f, (result, out) in results:
            run_dir = runs.create_run_dir(runs_dir)
            s = result.summary
            s.run_id = run_dir.name
            s.extra.update(cv=cv_id, fold=f + 1, folds=k)
            runs.write_run(
                run_dir,
                s,
                config_text=result.config_text,
                history=(result.history_header, result.history_rows),
                params=result.params,
            )
            if out is not None:
                if outputs is None:
                    outputs = np.full((out.shape[0], m), np.nan)
                outputs[:, folds == f] = out
            done[f] = ({"fold": f + 1, "run_id": run_dir.name, "status": s.status}, dict(s.scores))
            if on_fold is not None:
                n_val = int(np.count_nonzero(folds == f))
                on_fold(
                    FoldResult(f + 1, k, run_dir.name, s.status, m - n_val, n_val, dict(s.scores))
                )
    except KeyboardInterrupt:
        finish("interrupted")
        raise
    except Exception as exc:
        finish("failed")  # e.g. a fold whose worker died twice: the others are kept
        if isinstance(exc, NnctlError) and not isinstance(exc, RunFailed):
            # exit 1, not the 2 that promises nothing was written
            raise RunFailed(f"{exc} (cv {cv_id}: the folds done are kept)", cv_dir) from exc
        raise
    return finish()


def _step(
    on_step: Callable[[int, int, int], None], fold: int, total: int, i: int, _: float
) -> None:
    on_step(fold, i, total)


def _finish(
    cv_dir: Path,
    cfg: Config,
    k: int,
    stratify: bool,
    m: int,
    task: str,
    ds: Dataset,
    children: list[dict[str, Any]],
    scores: list[dict[str, Any]],
    folds: np.ndarray,
    outputs: np.ndarray | None,
    status: str = "complete",
) -> CvRecord:
    """Writes the cv record and the out-of-fold predictions of the folds done (NaN for the
    others) into ``cv_dir``, and returns the record."""
    record = CvRecord(
        cv_dir.name,
        cfg.source,
        k,
        stratify,
        cfg.seed,
        m,
        task,
        list(ds.classes),
        children,
        fold_statistics(scores),
        status,
    )
    _write_oof(cv_dir, folds, ds, outputs, task)
    runs.write_json(cv_dir / RECORD_FILE, record.to_json())
    return record


def _write_oof(
    cv_dir: Path, folds: np.ndarray, ds: Dataset, outputs: np.ndarray | None, task: str
) -> None:
    """oof.npz: index (m,), fold (m,) (1 .. K), label (1, m) or targets (n_out, m), output (K, m)
    (class probabilities or regression outputs; NaN for a fold whose run has no parameters);
    oof.csv: one row per example with the same columns (``p_<class>`` per class)."""
    m = folds.size
    Y = np.asarray(ds.Y_train)
    if outputs is None:
        outputs = np.full((Y.shape[0] if task != "classification" else 1, m), np.nan)
    buf = io.BytesIO()
    np.savez(buf, index=np.arange(m), fold=folds + 1, label=Y, output=outputs)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    if task == "classification":
        names = [f"p_{c}" for c in ds.classes] if outputs.shape[0] == len(ds.classes) else []
        w.writerow(["index", "fold", "label", "predicted", "p_label", *names])
        for i in range(m):
            label = int(Y[0, i])
            p = outputs[:, i]
            known = bool(np.all(np.isfinite(p)))
            pred = ds.classes[int(np.argmax(p))] if known and names else ""
            w.writerow(
                [
                    i,
                    int(folds[i]) + 1,
                    ds.classes[label],
                    pred,
                    f"{p[label]:.6g}" if known and names else "",
                    *(f"{v:.6g}" for v in p),
                ]
            )
    else:
        w.writerow(
            [
                "index",
                "fold",
                *(f"target_{j}" for j in range(Y.shape[0])),
                *(f"output_{j}" for j in range(outputs.shape[0])),
            ]
        )
        for i in range(m):
            w.writerow([i, int(folds[i]) + 1, *(f"{v:.6g}" for v in Y[:, i]), *outputs[:, i]])
    runs.atomic_write_all(
        [(cv_dir / OOF_NPZ, buf.getvalue()), (cv_dir / OOF_CSV, text.getvalue().encode())]
    )
