"""Several runs side by side: their curves overlaid, the config keys and scores that differ,
and the labels that tell them apart."""

from __future__ import annotations

from nnctl.commands.report.gather import RunView
from nnctl.commands.report.markup import esc, num, table, yamlish
from nnctl.commands.report.sections import cost_series
from nnctl.commands.report.svg import PALETTE, Series, line_chart
from nnctl.runs import flatten


def score_cells(view: RunView) -> dict[str, str]:
    out: dict[str, str] = {}
    for sc in view.scores:
        if sc.ev.task == "classification":
            out[f"{sc.split} accuracy"] = f"{sc.ev.accuracy:.4f}"
        else:
            out[f"{sc.split} MSE"] = f"{sc.ev.mse:.4g}"
            out[f"{sc.split} R²"] = f"{sc.ev.r2:.4f}"
    s = view.run.summary.to_json()
    out["final cost"] = num(s.get("final_cost"), 6)
    out["seconds"] = num(s.get("seconds"), 2)
    return out


def comparison(views: list[RunView], labels: list[str]) -> str:
    configs = [flatten(v.run.config.to_dict()) for v in views]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    header = ("", *labels)
    cfg_rows = [(esc(k), *(esc(yamlish(c.get(k))) for c in configs)) for k in differing]
    scores = [score_cells(v) for v in views]
    score_keys = list(dict.fromkeys(k for sc in scores for k in sc))
    score_rows = [(esc(k), *(sc.get(k, "–") for sc in scores)) for k in score_keys]
    curves = []
    for j, v in enumerate(views):
        curves += cost_series(v.history, PALETTE[j % len(PALETTE)], labels[j], faint=False)
    parts = [
        '<section id="comparison"><h2>Comparison</h2><div class="grid2">',
        line_chart(curves, "iteration", "cost", title="training cost"),
        line_chart(curves, "iteration", "cost", log_y=True, title="training cost (log)"),
        "</div>",
    ]
    val = [(j, v) for j, v in enumerate(views) if v.history.epochs.size]
    if val:
        parts += [
            '<div class="grid2">',
            line_chart(
                [
                    Series(
                        labels[j], v.history.epochs, v.history.val_loss, PALETTE[j % len(PALETTE)]
                    )
                    for j, v in val
                ],
                "epoch",
                "validation loss",
                title="validation loss",
            ),
            line_chart(
                [
                    Series(
                        labels[j],
                        v.history.epochs,
                        v.history.val_accuracy,
                        PALETTE[j % len(PALETTE)],
                    )
                    for j, v in val
                ],
                "epoch",
                "validation accuracy",
                title="validation accuracy",
            ),
            "</div>",
        ]
    parts.append(
        "<h3>Config keys that differ</h3>"
        + (
            table(cfg_rows, header, row_header=True)
            if cfg_rows
            else '<p class="note">none: the configs are identical</p>'
        )
    )
    parts.append(
        "<h3>Scores</h3>" + table(score_rows, header, cls="num", row_header=True) + "</section>"
    )
    return "".join(parts)


def run_labels(views: list[RunView]) -> list[str]:
    """Each run's name plus the config keys that differ between the runs (``spiral
    learning_rate=0.003``); the run id is added when labels would still collide."""
    configs = [flatten(v.run.config.to_dict()) for v in views]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [k for k in keys if k != "name" and len({repr(c.get(k)) for c in configs}) > 1]
    labels = [
        " ".join(
            [str(v.run.summary.to_json().get("name"))]
            + [f"{k}={yamlish(c.get(k))}" for k in differing[:3]]
        )
        for v, c in zip(views, configs)
    ]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({v.run.run_dir.name})" for lab, v in zip(labels, views)]
    return labels
