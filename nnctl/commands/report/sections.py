"""One run's sections of the page, but its scores (``scores``): the headline (status, data,
network, length), the learning curves (and the learning rate of a schedule), the recipe's
diagnosis (``nnctl diagnose``), and the config with where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.commands.report.gather import RunView
from nnctl.commands.report.markup import esc, kv, num, table, yamlish
from nnctl.commands.report.svg import PALETTE, Series, line_chart, smooth
from nnctl.runs import History


def _config_rows(cfg: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(keys that differ from the defaults or have none, every key) as (key, value) rows."""
    from nnctl.config import REQUIRED, config_keys

    d, keys = cfg.to_dict(), config_keys()
    every = [(k, esc(yamlish(v))) for k, v in d.items()]
    differ = [
        (k, esc(yamlish(v)))
        for k, v in d.items()
        if keys[k].default is REQUIRED or keys[k].default != v
    ]
    return differ, every


def _data_description(s: dict[str, Any]) -> str:
    parts = []
    for src in (s.get("dataset") or {}).get("sources", []):
        if src.get("synthetic"):
            parts.append(
                f"{src['synthetic']} (synthetic, m={src.get('m')}, seed {src.get('seed')})"
            )
        elif src.get("path"):
            parts.append(f"{src.get('role')}: {Path(src['path']).name}")
    return "; ".join(parts) or "–"


def _split_sizes(s: dict[str, Any]) -> str:
    ds = s.get("dataset") or {}
    return ", ".join(f"{k[2:]} {ds[k]}" for k in ("n_train", "n_val", "n_test") if ds.get(k))


def headline(view: RunView) -> str:
    run, cfg = view.run, view.run.config
    s = run.summary.to_json()
    dims = list(cfg.layer_dims)
    per_layer = [dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims))]
    layers = [
        (f"{l}", f"{dims[l - 1]} → {dims[l]}", esc(cfg.activations[l - 1]), f"{per_layer[l - 1]:,}")
        for l in range(1, len(dims))
    ]
    test = next((sc for sc in view.scores if sc.split == "test"), None)
    headline_score = ""
    if test is not None:
        if test.ev.task == "classification":
            headline_score = (
                f'<div class="big"><b>{test.ev.accuracy:.4f}</b><span>test accuracy</span></div>'
            )
        else:
            headline_score = f'<div class="big"><b>{test.ev.r2:.4f}</b><span>test R²</span></div>'
    facts = [
        (
            "status",
            f'<span class="status {esc(s.get("status"))}">{esc(s.get("status"))}</span>'
            + (f" – {esc(s['message'])}" if s.get("message") else ""),
        ),
        ("data", esc(_data_description(s)) + f" <small>({esc(_split_sizes(s))})</small>"),
        (
            "network",
            " → ".join(str(d) for d in dims)
            + f" <small>({sum(per_layer):,} parameters; loss {esc(cfg.loss)})</small>",
        ),
        (
            "trained",
            f"{esc(s.get('iterations_done'))} iterations"
            + (
                f", {esc(s['epochs_done'])} epochs"
                if s.get("epochs_done") is not None and view.history.per_batch
                else ""
            )
            + (" (stopped early)" if s.get("stopped_early") else "")
            + f" in {num(s.get('seconds'), 2)} s",
        ),
        ("created", esc(s.get("created"))),
        ("final cost", num(s.get("final_cost"), 6)),
    ]
    return (
        f'<div class="headline">{headline_score}{kv(facts)}</div>'
        "<details><summary>layers</summary>"
        f"{table(layers, ('layer', 'units', 'activation', 'parameters'))}</details>"
    )


def config_section(view: RunView) -> str:
    differ, every = _config_rows(view.run.config)
    s = view.run.summary.to_json()
    prov = [
        ("run id", esc(s.get("run_id") or view.run.run_dir.name)),
        ("run directory", esc(view.run.run_dir)),
        ("config file", esc(s.get("config_file"))),
        ("nnctl", esc(s.get("nnctl_version"))),
        ("numpy", esc(s.get("numpy_version"))),
        ("python", esc(s.get("python_version"))),
        ("finished", esc(s.get("finished"))),
    ]
    for src in (s.get("dataset") or {}).get("sources", []):
        if src.get("sha256"):
            prov.append(
                (
                    f"{src.get('role')} data",
                    f"{esc(src.get('path'))}<br><code>sha256 {esc(src['sha256'])}</code>",
                )
            )
        else:
            prov.append(
                (
                    f"{src.get('role')} data",
                    esc(yamlish({k: v for k, v in src.items() if k != "role"})),
                )
            )
    return (
        '<h3>Config</h3><p class="note">keys that differ from the defaults</p>'
        + kv(differ)
        + f"<details><summary>all {len(every)} keys</summary>{kv(every)}</details>"
        + f"<details><summary>where it came from</summary>{kv(prov)}</details>"
    )


def cost_series(h: History, color: str, name: str = "", faint: bool = True) -> list[Series]:
    """The cost curve: per-batch costs faint behind their moving average, or the full-batch
    curve as it is."""
    if not h.per_batch:
        return [Series(name, h.iterations, h.costs, color)]
    window = max(2, h.costs.size // 60)
    smoothed = Series(name, h.iterations, smooth(h.costs, window), color)
    return ([Series("", h.iterations, h.costs, color, opacity=0.2, width=1.0)] if faint else []) + [
        smoothed
    ]


def curves_section(view: RunView) -> str:
    h = view.history
    if h.costs.size == 0:
        return '<h3>Learning curve</h3><p class="note">no history recorded</p>'
    what = "per-batch cost (faint) and its moving average" if h.per_batch else "cost"
    parts = [
        f'<h3>Learning curve</h3><p class="note">{what} per iteration, linear and log scale</p>'
        '<div class="grid2">',
        line_chart(cost_series(h, PALETTE[0]), "iteration", "cost", title="training cost"),
        line_chart(
            cost_series(h, PALETTE[0]),
            "iteration",
            "cost",
            log_y=True,
            title="training cost (log)",
        ),
        "</div>",
    ]
    if h.learning_rate is not None and h.learning_rate.size:
        parts.append(
            line_chart(
                [Series("", h.iterations, h.learning_rate, PALETTE[3])],
                "iteration",
                "learning rate",
                title="learning rate (lr_schedule, per epoch)",
            )
        )
    if h.epochs.size:
        parts += [
            '<div class="grid2">',
            line_chart(
                [Series("", h.epochs, h.val_loss, PALETTE[1])],
                "epoch",
                "validation loss",
                title="validation loss",
            ),
            line_chart(
                [Series("", h.epochs, h.val_accuracy, PALETTE[2])],
                "epoch",
                "validation accuracy",
                title="validation accuracy",
            )
            if np.isfinite(h.val_accuracy).any()
            else "",
            "</div>",
        ]
    return "".join(parts)


def diagnose_section(view: RunView) -> str:
    """What ``nnctl diagnose`` prints: the errors against the baseline, the three gaps with
    their verdicts, and the next steps of the high ones as --set overrides."""
    from nnctl.commands.diagnose import diagnose_run
    from nnctl.system import NnctlError

    try:
        d = diagnose_run(view.run)
    except NnctlError as exc:
        return f'<h3>Diagnosis</h3><p class="note">not available: {esc(exc)}</p>'
    e = d.errors
    names = {"baseline": "baseline", "train": "train", "val": "dev (val)", "test": "test"}
    errors = [
        (names[split], num(value))
        for split, value in (
            ("baseline", d.baseline),
            ("train", e.train),
            ("val", e.val),
            ("test", e.test),
        )
        if value is not None
    ]
    gaps = [
        (
            esc(g.name),
            f"{names[g.upper]} − {names[g.lower]}",
            "–" if g.value is None else f"{g.value:+.4f}",
            num(g.threshold),
            f"<b>{esc(g.verdict)}</b>" if g.high else esc(g.verdict),
        )
        for g in d.gaps
    ]
    focus = (
        f"<p>work on <b>{esc(d.focus)}</b> first (the largest gap)</p>"
        if d.focus
        else "<p>no gap is high: the run does as well as the baseline says it can</p>"
    )
    steps = "".join(
        f'<p class="note">next steps for {esc(g.name)}</p><ul>'
        + "".join(
            f"<li>{esc(s.text)}"
            + "".join(f" <code>--set {esc(o)}</code>" for o in s.overrides)
            + "</li>"
            for s in g.steps
        )
        + "</ul>"
        for g in sorted(d.gaps, key=lambda g: g.name != d.focus)
        if g.steps
    )
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in d.notes)
    return (
        f'<h3>Diagnosis</h3><p class="note">{esc(e.metric)} per split, against the baseline '
        f"({esc(d.baseline_source)})</p>"
        + table(errors, ("split", "error"), cls="num")
        + table(gaps, ("gap", "", "value", "high above", "verdict"), cls="diagnosis")
        + focus
        + steps
        + notes
    )


def learning_curve_section(view: RunView) -> str:
    """The learning curve made of the run (``nnctl diagnose RUN --learning-curve``), when there
    is one: training and validation error against the examples trained on, the points and the
    reading. Nothing when the run has none."""
    from nnctl.commands.diagnose import linked_curve

    curve = linked_curve(view.run)
    if curve is None:
        return ""
    scored = [p for p in curve.points if p.train_error is not None and p.val_error is not None]
    xs = [p.examples for p in scored]
    chart = line_chart(
        [
            Series("training", xs, [p.train_error for p in scored], PALETTE[0]),
            Series("validation", xs, [p.val_error for p in scored], PALETTE[1]),
        ],
        "training examples",
        curve.metric,
        title="learning curve",
    )
    rows = [
        (
            f"{p.share:g}",
            str(p.examples),
            num(p.train_error),
            num(p.val_error),
            "–" if p.gap is None else f"{p.gap:+.4f}",
            esc(p.run_id),
        )
        for p in curve.points
    ]
    r = curve.reading
    return (
        "<h3>Learning curve over the training examples</h3>"
        '<p class="note">the config trained again on shares of the training split, each scored '
        "on this run's validation split</p>"
        + chart
        + table(rows, ("share", "examples", "train error", "val error", "gap", "run"), cls="num")
        + f"<p>reading: <b>{esc(r.verdict)}</b> – {esc(r.text)}</p>"
    )
