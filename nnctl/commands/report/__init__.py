"""``report``: one or more trained runs as a single self-contained HTML page.

Everything is inside the file: charts are inline SVG (``nnctl.commands.report.svg``), images are PNG
``data:`` URIs, styles are one inline ``<style>``; there is no script at all. A
Content-Security-Policy meta tag forbids every fetch except ``data:`` images, so even a
mistake in the markup cannot reach the network; the page opens from disk in any browser.

Per run: the headline (name, status, data, layer sizes with parameter counts, time), the config
(keys that differ from the defaults, then all), provenance (versions, data hashes), the cost
curve (linear and log, per-batch costs faint behind a moving average), validation loss and
accuracy per epoch, test and validation scores (classifiers: accuracy, per-class precision /
recall / F1, a coloured confusion matrix; regression: predicted-vs-true and residuals), and for
image runs the misclassified test images. Several runs also get their curves overlaid and a
table of the config keys and scores that differ.
"""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.commands.report.svg import PALETTE, Series, line_chart, scatter, smooth
from nnctl.runs import History, LoadedRun, flatten, read_history_table
from nnctl.system import NnctlError, UsageError

MAX_ERROR_IMAGES = 24  # the course shows a handful; a grid of 24 still fits a phone screen
IMAGE_PX = 96  # shown size of a 64x64 image (pixelated, not blurred)


@dataclass
class Scores:
    """One split's evaluation (``nnctl.commands.evaluate``'s Evaluation or RegressionEvaluation) and the
    model's outputs on it: AL (n_L, m), Y (1, m) labels or (n_out, m) targets."""

    split: str
    ev: Any
    AL: np.ndarray
    Y: np.ndarray


@dataclass
class RunView:
    """Everything the page shows about one run, gathered before any HTML is written."""

    run: LoadedRun
    history: History
    scores: list[Scores] = field(default_factory=list)
    errors: list[tuple[str, str, str, float, int]] = field(
        default_factory=list
    )  # png uri, true, pred, p, index
    n_errors: int = 0
    notes: list[str] = field(default_factory=list)


def _score_split(run: LoadedRun, split: str) -> tuple[Scores, Any]:
    """The split scored by ``evaluate_run`` (equal to the summary's numbers) and the model's
    outputs on it, with the evaluated data (for image runs: where each raw image is)."""
    from nnctl.commands.evaluate import evaluate_run, load_eval_data
    from nnctl.core import predict_proba

    ev = evaluate_run(run, None, split)
    d = load_eval_data(run, None, split)
    if hasattr(d.X, "blocks"):  # streamed from disk (nnctl.data.stream): scored block by block
        from nnctl.training import score

        AL = score(run.params, run.config, d.X, d.Y).AL
    else:
        AL = predict_proba(run.params, d.X, run.config.arch)
    return Scores(split, ev, AL, d.Y), d


def _png_uri(img: np.ndarray) -> str:
    """A uint8 image (h, w[, c]) as a PNG data URI."""
    from PIL import Image

    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def gather(run: LoadedRun, max_errors: int = MAX_ERROR_IMAGES) -> RunView:
    """Reads the run's history and scores it on its test (and validation) split. Data that can
    no longer be loaded becomes a note on the page rather than a failed report."""
    from nnctl.commands.evaluate import raw_images
    from nnctl.core import head_for

    view = RunView(run, read_history_table(run.run_dir))
    s = run.summary.to_json()
    ds = s.get("dataset") or {}
    splits = [sp for sp, key in (("test", "n_test"), ("val", "n_val")) if ds.get(key)]
    if not splits:
        splits = ["train"]
    for split in splits:
        try:
            scores, d = _score_split(run, split)
        except NnctlError as exc:
            view.notes.append(f"{split} scores unavailable: {exc}")
            continue
        view.notes += [n for n in scores.ev.notes if n not in view.notes]
        view.scores.append(scores)
        if (
            split == "test"
            and getattr(scores.ev, "task", "") == "classification"
            and d.raw_file is not None
        ):
            wrong = scores.ev.misclassified
            view.n_errors = int(wrong.size)
            if wrong.size:
                head = head_for(run.config.loss)
                P = head.probabilities(scores.AL)
                # only the images shown are read: the file may be larger than memory
                images = raw_images(d.raw_file, d.spec or {}, d.raw_index[wrong[:max_errors]])
                classes = scores.ev.classes
                for i, img in zip(wrong[:max_errors], images):
                    if img.dtype != np.uint8:
                        break
                    pred = int(scores.ev.labels[i])
                    view.errors.append(
                        (
                            _png_uri(img),
                            classes[int(scores.ev.Y[i])],
                            classes[pred],
                            float(P[pred, i]),
                            int(i),
                        )
                    )
    return view


# --------------------------------------------------------------------------- HTML


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if 1e-3 <= abs(v) < 1e6 or v == 0 else f"{v:.{digits}g}"
    return _e(v)


def _table(
    rows: list[tuple[Any, ...]],
    header: tuple[str, ...] | None = None,
    cls: str = "",
    row_header: bool = False,
) -> str:
    """Cells are HTML already; ``row_header``: each row's first cell is its header."""
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<th>{c}</th>" if row_header and i == 0 else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table class="{cls}">{head}{body}</table></div>'


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv">{body}</table></div>'


def _config_rows(cfg: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(keys that differ from the defaults or have none, every key) as (key, value) rows."""
    from nnctl.config import REQUIRED, config_keys

    d, keys = cfg.to_dict(), config_keys()
    every = [(k, _e(_yamlish(v))) for k, v in d.items()]
    differ = [
        (k, _e(_yamlish(v)))
        for k, v in d.items()
        if keys[k].default is REQUIRED or keys[k].default != v
    ]
    return differ, every


def _yamlish(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_yamlish(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_yamlish(x) for x in v) + "]"
    return "null" if v is None else str(v)


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


def _headline(view: RunView) -> str:
    run, cfg = view.run, view.run.config
    s = run.summary.to_json()
    dims = list(cfg.layer_dims)
    per_layer = [dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims))]
    layers = [
        (f"{l}", f"{dims[l - 1]} → {dims[l]}", _e(cfg.activations[l - 1]), f"{per_layer[l - 1]:,}")
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
            f'<span class="status {_e(s.get("status"))}">{_e(s.get("status"))}</span>'
            + (f" – {_e(s['message'])}" if s.get("message") else ""),
        ),
        ("data", _e(_data_description(s)) + f" <small>({_e(_split_sizes(s))})</small>"),
        (
            "network",
            " → ".join(str(d) for d in dims)
            + f" <small>({sum(per_layer):,} parameters; loss {_e(cfg.loss)})</small>",
        ),
        (
            "trained",
            f"{_e(s.get('iterations_done'))} iterations"
            + (
                f", {_e(s['epochs_done'])} epochs"
                if s.get("epochs_done") is not None and view.history.per_batch
                else ""
            )
            + (" (stopped early)" if s.get("stopped_early") else "")
            + f" in {_num(s.get('seconds'), 2)} s",
        ),
        ("created", _e(s.get("created"))),
        ("final cost", _num(s.get("final_cost"), 6)),
    ]
    return (
        f'<div class="headline">{headline_score}{_kv(facts)}</div>'
        f"<details><summary>layers</summary>{_table(layers, ('layer', 'units', 'activation', 'parameters'))}</details>"
    )


def _config_section(view: RunView) -> str:
    differ, every = _config_rows(view.run.config)
    s = view.run.summary.to_json()
    prov = [
        ("run id", _e(s.get("run_id") or view.run.run_dir.name)),
        ("run directory", _e(view.run.run_dir)),
        ("config file", _e(s.get("config_file"))),
        ("nnctl", _e(s.get("nnctl_version"))),
        ("numpy", _e(s.get("numpy_version"))),
        ("python", _e(s.get("python_version"))),
        ("finished", _e(s.get("finished"))),
    ]
    for src in (s.get("dataset") or {}).get("sources", []):
        if src.get("sha256"):
            prov.append(
                (
                    f"{src.get('role')} data",
                    f"{_e(src.get('path'))}<br><code>sha256 {_e(src['sha256'])}</code>",
                )
            )
        else:
            prov.append(
                (
                    f"{src.get('role')} data",
                    _e(_yamlish({k: v for k, v in src.items() if k != "role"})),
                )
            )
    return (
        '<h3>Config</h3><p class="note">keys that differ from the defaults</p>'
        + _kv(differ)
        + f"<details><summary>all {len(every)} keys</summary>{_kv(every)}</details>"
        + f"<details><summary>where it came from</summary>{_kv(prov)}</details>"
    )


def _cost_series(h: History, color: str, name: str = "", faint: bool = True) -> list[Series]:
    """The cost curve: per-batch costs faint behind their moving average, or the full-batch
    curve as it is."""
    if not h.per_batch:
        return [Series(name, h.iterations, h.costs, color)]
    window = max(2, h.costs.size // 60)
    smoothed = Series(name, h.iterations, smooth(h.costs, window), color)
    return ([Series("", h.iterations, h.costs, color, opacity=0.2, width=1.0)] if faint else []) + [
        smoothed
    ]


def _curves_section(view: RunView) -> str:
    h = view.history
    if h.costs.size == 0:
        return '<h3>Learning curve</h3><p class="note">no history recorded</p>'
    what = "per-batch cost (faint) and its moving average" if h.per_batch else "cost"
    parts = [
        f'<h3>Learning curve</h3><p class="note">{what} per iteration, linear and log scale</p><div class="grid2">',
        line_chart(_cost_series(h, PALETTE[0]), "iteration", "cost", title="training cost"),
        line_chart(
            _cost_series(h, PALETTE[0]),
            "iteration",
            "cost",
            log_y=True,
            title="training cost (log)",
        ),
        "</div>",
    ]
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


def _confusion(ev: Any) -> str:
    """The confusion matrix as a grid coloured by each row's share (recall per true class)."""
    cm = np.asarray(ev.confusion)
    rows_total = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows_total, out=np.zeros(cm.shape, dtype=float), where=rows_total > 0)
    head = (
        "<tr><th>true \\ predicted</th>"
        + "".join(f"<th>{_e(c)}</th>" for c in ev.classes)
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
            cells += f'<td style="background:{bg};color:{fg}" title="{f:.1%} of true {_e(c)}">{cm[k, j]}</td>'
        body += f"<tr><th>{_e(c)}</th>{cells}</tr>"
    return f'<div class="scroll"><table class="confusion">{head}{body}</table></div>'


def _scores_section(view: RunView) -> str:
    out = []
    for sc in view.scores:
        ev = sc.ev
        title = {"test": "Test", "val": "Validation", "train": "Training"}[sc.split]
        out.append(f'<h3>{title} scores</h3><p class="note">{_e(ev.data)}, {ev.n} examples</p>')
        if ev.task == "classification":
            positive = f" ({_e(ev.classes[1])})" if len(ev.classes) == 2 else " (macro)"
            out.append(
                _kv(
                    [
                        ("accuracy", f'<b class="{sc.split}-accuracy">{ev.accuracy:.6f}</b>'),
                        ("precision" + positive, _num(ev.precision, 6)),
                        ("recall" + positive, _num(ev.recall, 6)),
                        ("F1" + positive, _num(ev.f1, 6)),
                        ("log loss", _num(ev.log_loss, 6)),
                    ]
                )
            )
            pc = ev.per_class
            out.append(
                _table(
                    [
                        (
                            _e(c),
                            _num(pc["precision"][k]),
                            _num(pc["recall"][k]),
                            _num(pc["f1"][k]),
                            _e(pc["support"][k]),
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
                _kv(
                    [
                        ("MSE", f'<b class="{sc.split}-mse">{ev.mse:.6g}</b>'),
                        ("MAE", _num(ev.mae, 6)),
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


def _errors_section(view: RunView) -> str:
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
        f'<figure class="err"><img src="{uri}" width="{IMAGE_PX}" height="{IMAGE_PX}" alt="test image {i}">'
        f"<figcaption>#{i} true <b>{_e(t)}</b><br>predicted <b>{_e(p)}</b> ({prob:.2f})</figcaption></figure>"
        for uri, t, p, prob, i in view.errors
    )
    return (
        f'<h3>Misclassified test images</h3><p class="note">{shown}; probability of the predicted class in '
        f'brackets</p><div class="errors">{cells}</div>'
    )


def _run_section(view: RunView, anchor: str) -> str:
    s = view.run.summary.to_json()
    notes = "".join(f'<p class="warn">{_e(n)}</p>' for n in view.notes)
    return (
        f'<section id="{anchor}"><h2>{_e(s.get("name"))} <small>{_e(s.get("run_id") or view.run.run_dir.name)}</small></h2>'
        + notes
        + _headline(view)
        + _curves_section(view)
        + _scores_section(view)
        + _errors_section(view)
        + _config_section(view)
        + "</section>"
    )


def _score_cells(view: RunView) -> dict[str, str]:
    out: dict[str, str] = {}
    for sc in view.scores:
        if sc.ev.task == "classification":
            out[f"{sc.split} accuracy"] = f"{sc.ev.accuracy:.4f}"
        else:
            out[f"{sc.split} MSE"] = f"{sc.ev.mse:.4g}"
            out[f"{sc.split} R²"] = f"{sc.ev.r2:.4f}"
    s = view.run.summary.to_json()
    out["final cost"] = _num(s.get("final_cost"), 6)
    out["seconds"] = _num(s.get("seconds"), 2)
    return out


def _comparison(views: list[RunView], labels: list[str]) -> str:
    configs = [flatten(v.run.config.to_dict()) for v in views]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    header = ("", *labels)
    cfg_rows = [(_e(k), *(_e(_yamlish(c.get(k))) for c in configs)) for k in differing]
    scores = [_score_cells(v) for v in views]
    score_keys = list(dict.fromkeys(k for sc in scores for k in sc))
    score_rows = [(_e(k), *(sc.get(k, "–") for sc in scores)) for k in score_keys]
    curves = []
    for j, v in enumerate(views):
        curves += _cost_series(v.history, PALETTE[j % len(PALETTE)], labels[j], faint=False)
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
            _table(cfg_rows, header, row_header=True)
            if cfg_rows
            else '<p class="note">none: the configs are identical</p>'
        )
    )
    parts.append(
        "<h3>Scores</h3>" + _table(score_rows, header, cls="num", row_header=True) + "</section>"
    )
    return "".join(parts)


CSS = """
:root{color-scheme:light;--fg:#1b1f24;--muted:#5b6570;--line:#d8dde3;--bg:#fff;--soft:#f5f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:12px 16px 48px}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.25em;border-bottom:2px solid var(--line);padding-bottom:4px;margin-top:1.8em}
h2 small{font-weight:normal;color:var(--muted);font-size:.7em}h3{font-size:1.05em;margin:1.4em 0 .3em}
nav a{margin-right:12px}.note{color:var(--muted);margin:.2em 0 .5em;font-size:.9em}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:4px 0 8px;font-size:.92em}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}table.num td{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{width:11em}td code{font-size:.85em;word-break:break-all}
table.confusion td{text-align:center;min-width:3.2em;font-weight:600;font-variant-numeric:tabular-nums}
.headline{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.big{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px 18px;text-align:center}
.big b{display:block;font-size:2em}.big span{color:var(--muted);font-size:.85em}
.status{padding:1px 8px;border-radius:10px;background:#e7f5ea}.status.diverged,.status.failed{background:#fde2e1}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
figure{margin:0}figcaption{font-weight:600;font-size:.9em;margin:4px 0}
svg{width:100%;height:auto;display:block;background:#fff}
svg text{font-size:12px;fill:#444}svg .label{font-size:13px;fill:#222}
svg .grid{stroke:#e6e9ed;stroke-width:1}svg .frame{fill:none;stroke:#9aa3ad}svg .ref{stroke:#888;stroke-dasharray:4 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85em}.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}
.errors{display:grid;grid-template-columns:repeat(auto-fill,minmax(110px,1fr));gap:10px}
.err{border:1px solid var(--line);border-radius:6px;padding:6px;text-align:center;font-size:.8em}
.err img{image-rendering:pixelated;width:96px;height:96px}
details{margin:6px 0}summary{cursor:pointer;color:var(--muted)}
"""

# No fetch of any kind but data: images; no script at all. A stray URL fails loudly (a console
# error) instead of reaching the network.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def run_labels(views: list[RunView]) -> list[str]:
    """Each run's name plus the config keys that differ between the runs (``spiral
    learning_rate=0.003``); the run id is added when labels would still collide."""
    configs = [flatten(v.run.config.to_dict()) for v in views]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [k for k in keys if k != "name" and len({repr(c.get(k)) for c in configs}) > 1]
    labels = [
        " ".join(
            [str(v.run.summary.to_json().get("name"))]
            + [f"{k}={_yamlish(c.get(k))}" for k in differing[:3]]
        )
        for v, c in zip(views, configs)
    ]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({v.run.run_dir.name})" for lab, v in zip(labels, views)]
    return labels


def render(views: list[RunView]) -> str:
    """The whole page for one or more gathered runs."""
    names = [str(v.run.summary.to_json().get("name")) for v in views]
    labels = run_labels(views)
    title = (
        f"nnctl report: {', '.join(names)}"
        if len(views) <= 3
        else f"nnctl report: {len(views)} runs"
    )
    anchors = [f"run{j + 1}" for j in range(len(views))]
    nav = ""
    if len(views) > 1:
        nav = (
            '<nav><a href="#comparison">comparison</a>'
            + "".join(f'<a href="#{a}">{_e(lab)}</a>' for a, lab in zip(anchors, labels))
            + "</nav>"
        )
    body = (_comparison(views, labels) if len(views) > 1 else "") + "".join(
        _run_section(v, a) for v, a in zip(views, anchors)
    )
    import nnctl

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{_e(title)}</h1><p class="note">made by nnctl {_e(nnctl.__version__)} at '
        f"{_e(runs.utc_now())}</p>{nav}{body}</main></body></html>\n"
    )


@dataclass
class ReportInfo:
    """What ``write_report`` did: bytes written, runs shown, seconds taken."""

    path: Path
    size: int
    runs: int
    seconds: float


def check_output(out: Path) -> None:
    """Refuses an -o that cannot be written before any work is done."""
    if out.is_dir():
        raise UsageError(f"-o {out}: is a directory; give a file name such as report.html")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: directory {out.parent} does not exist")


def write_report(
    loaded: list[LoadedRun], out: Path, max_errors: int = MAX_ERROR_IMAGES
) -> ReportInfo:
    """Gathers every run, renders the page and writes it atomically to ``out``."""
    check_output(out)
    start = time.perf_counter()
    page = render([gather(run, max_errors) for run in loaded])
    data = page.encode("utf-8")
    runs.atomic_write(out, data)
    return ReportInfo(out, len(data), len(loaded), time.perf_counter() - start)
