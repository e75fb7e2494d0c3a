"""``GET /``: a small page to try the models served: pick one, drop an image or type feature
values, see the label and the probabilities as bars. Self-contained like the report (its style
and script inline, no request but to this server's API) under a Content-Security-Policy that
allows exactly that inline script and style (by their hashes), fetches to this origin and
previews of the image picked (blob:). Everything a run names (classes, names) is shown as text,
never as markup."""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root { font-family: system-ui, sans-serif; color: #1b1f23; background: #fafafa; }
body { margin: 0 auto; max-width: 44rem; padding: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
label, select, textarea, button { font-size: 1rem; }
select, textarea { width: 100%; box-sizing: border-box; margin: .25rem 0 .75rem; }
textarea { font-family: ui-monospace, monospace; min-height: 5rem; }
button { padding: .5rem 1.25rem; border: 0; border-radius: .3rem; background: #1f6feb;
  color: #fff; cursor: pointer; }
#about { color: #57606a; font-size: .9rem; overflow-wrap: anywhere; }
#drop { border: 2px dashed #8c959f; border-radius: .5rem; padding: 1.5rem; text-align: center;
  margin-bottom: .75rem; }
#drop.over { border-color: #1f6feb; background: #ddf4ff; }
#preview { height: 8rem; width: auto; max-width: 100%; display: block; margin: .5rem auto 0; }
#error { color: #cf222e; overflow-wrap: anywhere; }
.result { background: #fff; border: 1px solid #d0d7de; border-radius: .4rem; padding: .6rem;
  margin: .6rem 0; }
.result h2 { font-size: 1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
.bar { display: flex; align-items: center; gap: .5rem; margin: .2rem 0; font-size: .9rem; }
.bar .name { flex: 0 0 30%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar .track { flex: 1; background: #eaeef2; border-radius: .2rem; height: .9rem; }
.bar .fill { display: block; background: #2da44e; height: 100%; border-radius: .2rem; }
.bar .p { flex: 0 0 4.5rem; text-align: right; font-variant-numeric: tabular-nums; }
[hidden] { display: none !important; }
"""

SCRIPT = """
const $ = (id) => document.getElementById(id);
let models = [];
function current() { return models.find((m) => m.id === $("model").value); }
function show() {
  const m = current();
  if (!m) return;
  const image = m.input === "image";
  $("image-box").hidden = !image;
  $("feature-box").hidden = image;
  $("about").textContent = image
    ? `${m.task}: ${m.input_shape.join(" x ")} ${m.color_mode} images` +
      (m.classes.length ? `; classes ${m.classes.join(", ")}` : "")
    : `${m.task}: ${m.features} feature(s) per example` +
      (m.classes.length ? `; classes ${m.classes.join(", ")}` : "");
  $("rows").placeholder = Array(m.features || 0).fill("0").join(", ");
  $("results").replaceChildren();
  $("error").textContent = "";
}
function bar(name, p) {
  const row = document.createElement("div");
  row.className = "bar";
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  const track = document.createElement("span");
  track.className = "track";
  const fill = document.createElement("span");
  fill.className = "fill";
  fill.style.width = `${(100 * p).toFixed(1)}%`;
  track.append(fill);
  const shown = document.createElement("span");
  shown.className = "p";
  shown.textContent = p.toFixed(4);
  row.append(label, track, shown);
  return row;
}
function render(records) {
  const out = $("results");
  out.replaceChildren();
  for (const r of records) {
    const box = document.createElement("div");
    box.className = "result";
    const title = document.createElement("h2");
    title.textContent = r.class === null
      ? `${r.input}: ${JSON.stringify(r.value)}`
      : `${r.input}: ${r.class} (${r.probability.toFixed(4)})`;
    box.append(title);
    for (const [name, p] of Object.entries(r.probabilities || {})) box.append(bar(name, p));
    out.append(box);
  }
}
async function ask(body, type, query) {
  $("error").textContent = "";
  $("results").replaceChildren();
  const url = `/v1/models/${encodeURIComponent(current().id)}/predict${query || ""}`;
  try {
    const r = await fetch(url, { method: "POST", body, headers: { "Content-Type": type } });
    const answer = await r.json();
    if (!r.ok) { $("error").textContent = `${r.status}: ${answer.error}`; return; }
    render(answer);
  } catch (e) {
    $("error").textContent = `no answer from the server: ${e}`;
  }
}
function predictRows() {
  const lines = $("rows").value.split("\\n").map((l) => l.trim()).filter((l) => l);
  if (!lines.length) { $("error").textContent = "type the feature values of an example"; return; }
  const inputs = lines.map((l) => l.split(/[\\s,;]+/).filter((v) => v).map(Number));
  ask(JSON.stringify({ inputs }), "application/json");
}
function predictImage(file) {
  if (!file) return;
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  const query = `?name=${encodeURIComponent(file.name || "image")}`;
  ask(file, file.type || "application/octet-stream", query);
}
async function start() {
  $("model").addEventListener("change", show);
  $("predict").addEventListener("click", predictRows);
  $("file").addEventListener("change", () => predictImage($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    predictImage(e.dataTransfer.files[0]);
  });
  try {
    models = (await (await fetch("/v1/models")).json()).models;
  } catch (e) {
    $("error").textContent = `cannot list the models: ${e}`;
    return;
  }
  for (const m of models) {
    const option = document.createElement("option");
    option.value = m.id;
    option.textContent = m.name ? `${m.name} (${m.id})` : m.id;
    $("model").append(option);
  }
  show();
  document.body.dataset.ready = "yes";
}
start();
"""

BODY = """<h1>nnctl serve</h1>
<label for="model">Model</label>
<select id="model"></select>
<p id="about"></p>
<div id="image-box" hidden>
  <div id="drop">Drop an image here, or
    <label for="file">choose one</label>: <input id="file" type="file" accept="image/*">
    <img id="preview" alt="the image sent" hidden>
  </div>
</div>
<div id="feature-box" hidden>
  <label for="rows">Feature values: one example per line, separated by commas</label>
  <textarea id="rows" spellcheck="false"></textarea>
  <button id="predict" type="button">Predict</button>
</div>
<p id="error" role="alert"></p>
<div id="results" aria-live="polite"></div>"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (
    f"default-src 'none'; script-src {_hash(SCRIPT)}; style-src {_hash(STYLE)}; "
    "connect-src 'self'; img-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its own inline script and style, fetches to the server."""

PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>nnctl serve</title><style>{STYLE}</style></head>"
    f"<body>{BODY}<script>{SCRIPT}</script></body></html>\n"
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""The headers ``GET /`` answers with (the CSP, and no sniffing, referrer or caching)."""
