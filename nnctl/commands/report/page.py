"""The whole page: one section per run (and a comparison of several), inside a document whose
styles are one inline ``<style>`` and whose Content-Security-Policy forbids every fetch but
``data:`` images."""

from __future__ import annotations

from nnctl import runs
from nnctl.commands.report.compare import comparison, run_labels
from nnctl.commands.report.cv import cv_section
from nnctl.commands.report.gather import RunView
from nnctl.commands.report.markup import esc
from nnctl.commands.report.scores import errors_section, scores_section
from nnctl.commands.report.sections import (
    config_section,
    curves_section,
    diagnose_section,
    headline,
    learning_curve_section,
)

CSS = (
    "\n:root{color-scheme:light;--fg:#1b1f24;--muted:#5b6570;"
    "--line:#d8dde3;--bg:#fff;--soft:#f5f7f9}\n"
    "*{box-sizing:border-box}\n"
    'body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;'
    "color:var(--fg);background:var(--bg)}\n"
    "main{max-width:1100px;margin:0 auto;padding:12px 16px 48px}\n"
    "h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.25em;border-bottom:2px solid var(--line);"
    "padding-bottom:4px;margin-top:1.8em}\n"
    "h2 small{font-weight:normal;color:var(--muted);font-size:.7em}h3{font-size:1.05em;"
    "margin:1.4em 0 .3em}\n"
    "nav a{margin-right:12px}.note{color:var(--muted);margin:.2em 0 .5em;font-size:.9em}\n"
    ".warn{background:#fff4d6;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    "table{border-collapse:collapse;margin:4px 0 8px;font-size:.92em}\n"
    "th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:var(--soft);font-weight:600}table.num td{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    "table.kv th{width:11em}td code{font-size:.85em;word-break:break-all}\n"
    "table.confusion td{text-align:center;min-width:3.2em;font-weight:600;"
    "font-variant-numeric:tabular-nums}\n"
    ".headline{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\n"
    ".big{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px 18px;"
    "text-align:center}\n"
    ".big b{display:block;font-size:2em}.big span{color:var(--muted);font-size:.85em}\n"
    ".status{padding:1px 8px;border-radius:10px;background:#e7f5ea}"
    ".status.diverged,.status.failed{background:#fde2e1}\n"
    ".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}\n"
    "figure{margin:0}figcaption{font-weight:600;font-size:.9em;margin:4px 0}\n"
    "svg{width:100%;height:auto;display:block;background:#fff}\n"
    "svg text{font-size:12px;fill:#444}svg .label{font-size:13px;fill:#222}\n"
    "svg .grid{stroke:#e6e9ed;stroke-width:1}svg .frame{fill:none;stroke:#9aa3ad}"
    "svg .ref{stroke:#888;stroke-dasharray:4 3}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85em}"
    ".legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}\n"
    ".errors{display:grid;grid-template-columns:repeat(auto-fill,minmax(110px,1fr));gap:10px}\n"
    ".err{border:1px solid var(--line);border-radius:6px;padding:6px;text-align:center;"
    "font-size:.8em}\n"
    ".err img{image-rendering:pixelated;width:96px;height:96px}\n"
    "details{margin:6px 0}summary{cursor:pointer;color:var(--muted)}\n"
)

# No fetch of any kind but data: images; no script at all. A stray URL fails loudly (a console
# error) instead of reaching the network.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def run_section(view: RunView, anchor: str, cv_shown_with: int | None = None) -> str:
    """One run's section; ``cv_shown_with``: for a fold run whose cv another fold's section
    shows already, that fold."""
    s = view.run.summary.to_json()
    notes = "".join(f'<p class="warn">{esc(n)}</p>' for n in view.notes)
    return (
        f'<section id="{anchor}"><h2>{esc(s.get("name"))} '
        f"<small>{esc(s.get('run_id') or view.run.run_dir.name)}</small></h2>"
        + notes
        + headline(view)
        + curves_section(view)
        + scores_section(view)
        + errors_section(view)
        + diagnose_section(view)
        + learning_curve_section(view)
        + ("" if view.cv is None else cv_section(view.cv, cv_shown_with))
        + config_section(view)
        + "</section>"
    )


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
            + "".join(f'<a href="#{a}">{esc(lab)}</a>' for a, lab in zip(anchors, labels))
            + "</nav>"
        )
    shown: dict[str, int] = {}  # cv id -> the fold whose section shows it (once per page)
    sections = []
    for v, a in zip(views, anchors):
        with_fold = None if v.cv is None else shown.get(v.cv.cv_id)
        if v.cv is not None and with_fold is None:
            shown[v.cv.cv_id] = v.cv.fold
        sections.append(run_section(v, a, with_fold))
    body = (comparison(views, labels) if len(views) > 1 else "") + "".join(sections)
    import nnctl

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{esc(title)}</h1><p class="note">made by nnctl {esc(nnctl.__version__)} at '
        f"{esc(runs.utc_now())}</p>{nav}{body}</main></body></html>\n"
    )
