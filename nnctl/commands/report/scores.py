"""One run's scores on the page: per split, the classifier's accuracy, per-class table and
confusion matrix, or the regression's errors and its predicted-vs-true and residual plots; and
the misclassified test images."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.commands.report.gather import RunView
from nnctl.commands.report.markup import esc, kv, num, table
from nnctl.commands.report.svg import PALETTE, scatter

IMAGE_PX = 96  # shown size of a 64x64 image (pixelated, not blurred)


def _confusion(ev: Any) -> str:
    """The confusion matrix as a grid coloured by each row's share (recall per true class)."""
    cm = np.asarray(ev.confusion)
    rows_total = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows_total, out=np.zeros(cm.shape, dtype=float), where=rows_total > 0)
    head = (
        "<tr><th>true \\ predicted</th>"
        + "".join(f"<th>{esc(c)}</th>" for c in ev.classes)
        + "</tr>"
    )
    body = ""
    for k, c in enumerate(ev.classes):
        cells = ""
        for j in range(len(ev.classes)):
            f = share[k, j]
            hue = 140 if k == j else 5  # green on the diagonal (right), red off it (wrong)
            bg = f"hsl({hue} 70% {96 - 50 * f:.0f}%)"
            fg = "#fff" if f > 0.55 else "#111"
            cells += (
                f'<td style="background:{bg};color:{fg}" title="{f:.1%} of true {esc(c)}">'
                f"{cm[k, j]}</td>"
            )
        body += f"<tr><th>{esc(c)}</th>{cells}</tr>"
    return f'<div class="scroll"><table class="confusion">{head}{body}</table></div>'


def scores_section(view: RunView) -> str:
    out = []
    for sc in view.scores:
        ev = sc.ev
        title = {"test": "Test", "val": "Validation", "train": "Training"}[sc.split]
        out.append(f'<h3>{title} scores</h3><p class="note">{esc(ev.data)}, {ev.n} examples</p>')
        if ev.task == "classification":
            positive = f" ({esc(ev.classes[1])})" if len(ev.classes) == 2 else " (macro)"
            out.append(
                kv(
                    [
                        ("accuracy", f'<b class="{sc.split}-accuracy">{ev.accuracy:.6f}</b>'),
                        ("balanced accuracy", num(ev.balanced_accuracy, 6)),
                        ("precision" + positive, num(ev.precision, 6)),
                        ("recall" + positive, num(ev.recall, 6)),
                        ("F1" + positive, num(ev.f1, 6)),
                        ("log loss", num(ev.log_loss, 6)),
                    ]
                )
            )
            pc = ev.per_class
            out.append(
                table(
                    [
                        (
                            esc(c),
                            num(pc["precision"][k]),
                            num(pc["recall"][k]),
                            num(pc["f1"][k]),
                            esc(pc["support"][k]),
                        )
                        for k, c in enumerate(ev.classes)
                    ],
                    ("class", "precision", "recall", "F1", "support"),
                    cls="num",
                )
            )
            out.append(
                '<p class="note">confusion matrix (rows: true class, columns: predicted)</p>'
                + _confusion(ev)
            )
        else:
            out.append(
                kv(
                    [
                        ("MSE", f'<b class="{sc.split}-mse">{ev.mse:.6g}</b>'),
                        ("MAE", num(ev.mae, 6)),
                        ("R²", f'<b class="{sc.split}-r2">{ev.r2:.6f}</b>'),
                    ]
                )
            )
            if sc.split == "test":
                pred, true = sc.AL.reshape(-1), sc.Y.reshape(-1)
                out.append(
                    '<div class="grid2">'
                    + scatter(
                        true, pred, "true value", "predicted", "predicted vs true", diagonal=True
                    )
                    + scatter(
                        pred,
                        pred - true,
                        "predicted",
                        "residual (predicted − true)",
                        "residuals",
                        zero_line=True,
                        color=PALETTE[3],
                    )
                    + "</div>"
                )
    return "".join(out)


def errors_section(view: RunView) -> str:
    if not view.errors:
        return (
            ""
            if not view.n_errors
            else f'<h3>Misclassified test images</h3><p class="note">{view.n_errors}, not shown</p>'
        )
    shown = (
        f"{len(view.errors)} of {view.n_errors}"
        if view.n_errors > len(view.errors)
        else f"all {view.n_errors}"
    )
    cells = "".join(
        f'<figure class="err"><img src="{uri}" width="{IMAGE_PX}" height="{IMAGE_PX}" '
        f'alt="test image {i}"><figcaption>#{i} true <b>{esc(t)}</b><br>'
        f"predicted <b>{esc(p)}</b> ({prob:.2f})</figcaption></figure>"
        for uri, t, p, prob, i in view.errors
    )
    return (
        f'<h3>Misclassified test images</h3><p class="note">{shown}; probability of the '
        f'predicted class in brackets</p><div class="errors">{cells}</div>'
    )
