"""A fold run's cross-validation on the page (``nnctl cv``): the cv's statistics over its folds
(this fold's column marked), and its suspect labels, the examples whose out-of-fold prediction
most confidently contradicts their label (``nnctl.runs.cvdir.suspects``, the list ``nnctl cv
--suspects`` prints), as thumbnails for image data: the error analysis the course asks for.
Several folds of one cv on one page show it once, with the first of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.commands.report.markup import esc, num, table
from nnctl.runs import LoadedRun
from nnctl.runs.cvdir import Suspect, cv_dir_of, read_record, suspects
from nnctl.system import NnctlError


@dataclass
class CvView:
    """What the page shows of the cv a fold run belongs to: its record (cv.json), the top
    suspects, and for image data each one's PNG data URI (``images``, in the same order)."""

    cv_id: str
    fold: int
    folds: int
    record: dict[str, Any] | None
    suspects: list[Suspect] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _link(run: LoadedRun) -> tuple[str, int, int] | None:
    extra = run.summary.extra
    cv_id, fold, folds = extra.get("cv"), extra.get("fold"), extra.get("folds")
    if not isinstance(cv_id, str) or not isinstance(fold, int) or not isinstance(folds, int):
        return None
    return cv_id, fold, folds


def gather_cv(run: LoadedRun, max_images: int) -> CvView | None:
    """The cv of a fold run (None for any other run): its record and at most ``max_images``
    suspects, read from the cv directory beside the run's runs. Their images are the
    training data's columns as the cv loaded them (``load_dataset``, the config's dataset at
    the run's paths), turned back into 8-bit pixels: only for image data whose labels still
    match the out-of-fold file (a note otherwise). What cannot be read becomes a note."""
    link = _link(run)
    if link is None:
        return None
    cv_id, fold, folds = link
    view = CvView(cv_id, fold, folds, None)
    cv_dir = cv_dir_of(run.run_dir, cv_id)
    try:
        view.record = read_record(cv_dir)
        if view.record.get("task") == "classification" and max_images > 0:
            view.suspects = suspects(cv_dir, max_images)
    except NnctlError as exc:
        view.notes.append(f"the cv record is not available: {exc}")
        return view
    if view.suspects and run.preprocessing.kind == "image":
        try:
            view.images = _suspect_images(run, cv_dir, view.suspects)
        except NnctlError as exc:
            view.notes.append(f"the suspects' images are not available: {exc}")
    return view


def _suspect_images(run: LoadedRun, cv_dir: Any, found: list[Suspect]) -> list[str]:
    from nnctl.commands.evaluate import own_dataset
    from nnctl.commands.report.gather import _png_uri
    from nnctl.data import load_dataset
    from nnctl.runs.cvdir import read_oof

    spec, _ = own_dataset(run)
    ds = load_dataset(spec, run.config.dtype, run.summary.task)
    label = read_oof(cv_dir)["label"]
    if ds.Y_train.shape != label.shape or not np.array_equal(ds.Y_train, label):
        raise NnctlError("the training data's labels differ from those the cv ran on")
    if ds.divide_by != 255:  # only 8-bit images are shown
        return []
    images = []
    for s in found:
        pixels = ds.X_train[:, s.index].reshape(ds.input_shape) * ds.divide_by
        images.append(_png_uri(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)))
    return images


def cv_section(view: CvView, shown_with: int | None) -> str:
    """The cv's section; ``shown_with``: the fold of this cv already shown on the page (then
    one line pointing to it)."""
    head = f"fold {view.fold} of {view.folds} of cv <code>{esc(view.cv_id)}</code>"
    if shown_with is not None:
        return (
            f'<h3>Cross-validation</h3><p class="note">{head}: its statistics and suspect '
            f"labels are shown with fold {shown_with} above</p>"
        )
    notes = "".join(f'<p class="warn">{esc(n)}</p>' for n in view.notes)
    r = view.record
    if r is None:
        return f'<h3>Cross-validation</h3><p class="note">{head}</p>{notes}'
    k = r.get("folds") if isinstance(r.get("folds"), int) else view.folds
    how = "stratified, " if r.get("stratify") else ""
    rows = []
    metrics = r.get("metrics")
    for name, m in (metrics if isinstance(metrics, dict) else {}).items():
        if not isinstance(m, dict):
            continue  # a damaged record shows what it can
        values = m.get("folds") if isinstance(m.get("folds"), list) else []
        cells = [f"<b>{num(v)}</b>" if i + 1 == view.fold else num(v) for i, v in enumerate(values)]
        rows.append((esc(name), num(m.get("mean")), num(m.get("std")), *cells))
    heads = ("score", "mean", "std", *(f"fold {i + 1}" for i in range(k)))
    parts = [
        "<h3>Cross-validation</h3>",
        f'<p class="note">{head} ({how}{esc(r.get("n_examples"))} training examples, status '
        f"{esc(r.get('status'))}); std: the sample standard deviation over the folds; this "
        f"fold's column in bold</p>",
        notes,
        table(rows, heads, cls="num"),
        f'<p class="note">{esc(r.get("note") or "")}</p>',
    ]
    if r.get("task") == "classification":
        parts.append(_suspects_html(view))
    return "".join(parts)


def _suspects_html(view: CvView) -> str:
    if not view.suspects:
        return (
            '<h3>Suspect labels</h3><p class="note">no example\'s out-of-fold prediction '
            "disagrees with its label</p>"
        )
    what = (
        f"the {len(view.suspects)} examples whose out-of-fold prediction most confidently "
        "contradicts their label, lowest probability of their own label first; look at them "
        "for mislabelled examples (index: the example's column in the config's training data)"
    )
    if view.images:
        cells = "".join(
            f'<figure class="err"><img src="{uri}" width="96" height="96" '
            f'alt="training example {s.index}"><figcaption>#{s.index} label '
            f"<b>{esc(s.label)}</b><br>predicted <b>{esc(s.predicted)}</b><br>"
            f"p(label) {s.p_label:.3f} · fold {s.fold}</figcaption></figure>"
            for s, uri in zip(view.suspects, view.images)
        )
        body = f'<div class="errors">{cells}</div>'
    else:
        rows = [
            (
                str(s.index),
                str(s.fold),
                esc(s.label),
                esc(s.predicted),
                f"{s.p_label:.4f}",
                f"{s.p_predicted:.4f}",
            )
            for s in view.suspects
        ]
        body = table(
            rows, ("index", "fold", "label", "predicted", "p(label)", "p(predicted)"), cls="num"
        )
    return f'<h3>Suspect labels</h3><p class="note">{what}</p>{body}'
