"""A neuron page: one self-contained HTML file to look at a model's units by eye.

The text is shown character by character, each character's background coloured by one
unit's activation (red above zero, blue below; controls choose the quantity, the layer
and the unit), and under it the model's five guesses for the next character, shaded by
probability. Hovering shows the numbers. Discovered units link into the page with
anchors such as ``#quantity=hidden&layer=0&unit=5``, which the page's script reads.

To keep the page small every unit is quantised to int8 against its own largest
|activation|, q = round(127 a / max|a|), and shipped base64-encoded, unit after unit;
probabilities travel as integers in thousandths. Nothing is fetched from a network.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from charloom import io
from charloom.inspect.interpret.neurons import FeatureUnits, Trace


def quantise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values (T, U) -> int8 codes (U, T), unit-major, and each unit's scale (U,), such
    that values ~ codes * scale / 127."""
    scale = np.abs(values).max(axis=0)  # (U,)
    safe = np.where(scale > 0, scale, 1.0)
    codes = np.clip(np.rint(values / safe * 127), -127, 127).astype(np.int8)
    return np.ascontiguousarray(codes.T), scale


def page_data(trace: Trace, findings: list[FeatureUnits] | None = None, title: str = "") -> dict:
    """Everything the page's script needs, as plain JSON-able data."""
    quantities = []
    for name, values in trace.quantities.items():
        T, L, U = values.shape
        layers, scales = [], []
        for layer in range(L):
            codes, scale = quantise(values[:, layer, :])
            layers.append(base64.b64encode(codes.tobytes()).decode("ascii"))
            scales.append([float(f"{s:.4g}") for s in scale])
        quantities.append({"name": name, "layers": L, "units": U, "data": layers, "scale": scales})
    return {
        "title": title,
        "family": trace.family,
        "text": trace.text,
        "guesses": ["".join(row) for row in trace.guesses],
        "probs": np.rint(trace.probs * 1000).astype(int).tolist(),
        "quantities": quantities,
        "findings": [
            {
                "feature": f.feature,
                "note": f.note,
                "units": [
                    {
                        "quantity": u.quantity,
                        "layer": u.layer,
                        "unit": u.unit,
                        "r": u.r,
                        "r_heldout": u.r_heldout,
                        "anchor": u.anchor,
                    }
                    for u in f.units
                ],
            }
            for f in findings or []
        ],
    }


def neuron_page(trace: Trace, findings: list[FeatureUnits] | None = None, title: str = "neurons") -> str:
    """The whole page as a string."""
    data = json.dumps(page_data(trace, findings, title), separators=(",", ":"))
    data = data.replace("</", "<\\/")  # a '</script>' inside the text must not end the script
    return (
        PAGE.replace("__TITLE__", html.escape(title))
        .replace("__CSS__", CSS)
        .replace("__JS__", JS)
        .replace("__DATA__", data)
    )


def write_neuron_page(
    path: str | Path, trace: Trace, findings: list[FeatureUnits] | None = None, title: str = "neurons"
) -> Path:
    path = Path(path)
    io.atomic_write_bytes(path, neuron_page(trace, findings, title).encode("utf-8"))
    return path


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>__CSS__</style></head>
<body>
<h1>__TITLE__</h1>
<div id="controls">
  <label>quantity <select id="quantity"></select></label>
  <label>layer <select id="layer"></select></label>
  <label>unit <input id="unit" type="number" min="0" value="0"></label>
  <button id="prev" type="button">&larr;</button><button id="next" type="button">&rarr;</button>
  <span id="range"></span>
</div>
<div id="info">hover a character to see the unit's value and the model's guesses</div>
<div id="text"></div>
<div id="findings"></div>
<script type="application/json" id="data">__DATA__</script>
<script>__JS__</script>
</body></html>
"""

CSS = """
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.1em; }
#controls { position: sticky; top: 0; background: #fff; padding: .4em 0; border-bottom: 1px solid #ddd; }
#controls label { margin-right: 1em; }
#unit { width: 5em; }
#info { font-family: monospace; font-size: 12px; min-height: 2.6em; margin: .4em 0; white-space: pre; }
#text { display: flex; flex-wrap: wrap; font-family: monospace; line-height: 1; }
.c { display: inline-flex; flex-direction: column; align-items: center; margin: 0 0 6px 0; cursor: default; }
.ch { display: block; width: 1.2ch; text-align: center; font-size: 15px; padding: 2px 0; }
.g { display: block; width: 1.2ch; text-align: center; font-size: 9px; height: 10px; color: #000; }
.br { flex-basis: 100%; height: 0; }
#findings table { border-collapse: collapse; margin-top: 1.5em; font-size: 13px; }
#findings td, #findings th { border-bottom: 1px solid #eee; padding: 2px 10px; text-align: right; }
#findings td:first-child, #findings th:first-child { text-align: left; }
"""

JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const T = D.text.length;
const cache = {};
const el = (id) => document.getElementById(id);
const shown = (c) => c === "\n" ? "\u21b5" : c === " " ? "\u2423" : c;

function codes(q, layer) {
  const key = q.name + "/" + layer;
  if (!cache[key]) {
    const bin = atob(q.data[layer]);
    const arr = new Int8Array(bin.length);
    for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
    cache[key] = arr;
  }
  return cache[key];
}

function colour(v) {  // v in [-1, 1]: red above zero, blue below
  const k = Math.round(210 * Math.abs(v));
  return v >= 0 ? `rgb(255, ${255 - k}, ${255 - k})` : `rgb(${255 - k}, ${255 - k}, 255)`;
}

function build() {
  const parts = [];
  for (let t = 0; t < T; t++) {
    const c = D.text[t];
    let guesses = "";
    for (let j = 0; j < D.guesses[t].length; j++) {
      const p = D.probs[t][j] / 1000;
      guesses += `<span class="g" style="background: rgba(40, 160, 60, ${p.toFixed(3)})">` +
        `${esc(shown(D.guesses[t][j]))}</span>`;
    }
    parts.push(`<span class="c" data-t="${t}"><span class="ch">${esc(c === " " ? "\u00a0" : shown(c))}` +
      `</span>${guesses}</span>`);
    if (c === "\n") parts.push('<span class="br"></span>');
  }
  el("text").innerHTML = parts.join("");
}

function esc(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function current() {
  const q = D.quantities.find((x) => x.name === el("quantity").value) || D.quantities[0];
  const layer = Math.min(+el("layer").value || 0, q.layers - 1);
  const unit = Math.max(0, Math.min(+el("unit").value || 0, q.units - 1));
  return { q, layer, unit };
}

function fillLayers(q) {
  const old = +el("layer").value || 0;
  const options = Array.from({ length: q.layers }, (_, i) => `<option value="${i}">${i}</option>`);
  el("layer").innerHTML = options.join("");
  el("layer").value = String(Math.min(old, q.layers - 1));
  el("unit").max = q.units - 1;
  el("range").textContent = `${q.layers} layer(s) \u00d7 ${q.units} units`;
}

function paint() {
  const { q, layer, unit } = current();
  el("unit").value = unit;
  const arr = codes(q, layer).subarray(unit * T, (unit + 1) * T);
  const spans = el("text").querySelectorAll(".ch");
  for (let t = 0; t < T; t++) spans[t].style.backgroundColor = colour(arr[t] / 127);
  const hash = `quantity=${q.name}&layer=${layer}&unit=${unit}`;
  if (location.hash.slice(1) !== hash) history.replaceState(null, "", "#" + hash);
}

function fromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const q = D.quantities.find((x) => x.name === params.get("quantity"));
  if (q) { el("quantity").value = q.name; fillLayers(q); }
  if (params.has("layer")) el("layer").value = params.get("layer");
  if (params.has("unit")) el("unit").value = params.get("unit");
  paint();
}

function hover(ev) {
  const span = ev.target.closest(".c");
  if (!span) return;
  const t = +span.dataset.t;
  const { q, layer, unit } = current();
  const value = codes(q, layer)[unit * T + t] / 127 * q.scale[layer][unit];
  const guesses = Array.from(D.guesses[t], (g, j) => `${shown(g)} ${(D.probs[t][j] / 1000).toFixed(3)}`);
  el("info").textContent = `position ${t}  character ${JSON.stringify(D.text[t])}  ` +
    `${q.name} layer ${layer} unit ${unit} = ${value.toFixed(4)}\nnext: ${guesses.join("   ")}`;
}

function findingsTable() {
  if (!D.findings.length) return;
  const rows = [];
  for (const f of D.findings) {
    if (!f.units.length) rows.push(`<tr><td>${esc(f.feature)}</td><td colspan="5">${esc(f.note)}</td></tr>`);
    for (const u of f.units) {
      const held = u.r_heldout === null ? "-" : u.r_heldout.toFixed(3);
      rows.push(`<tr><td>${esc(f.feature)}</td>` +
        `<td><a href="#${u.anchor}">${u.quantity} ${u.layer}/${u.unit}</a></td>` +
        `<td>${u.r.toFixed(3)}</td><td>${held}</td></tr>`);
    }
  }
  el("findings").innerHTML = "<table><tr><th>feature</th><th>unit</th><th>r (fit)</th>" +
    "<th>r (held-out)</th></tr>" + rows.join("") + "</table>";
}

el("quantity").innerHTML = D.quantities.map((q) => `<option>${q.name}</option>`).join("");
fillLayers(D.quantities[0]);
build();
findingsTable();
el("quantity").addEventListener("change", () => { fillLayers(current().q); paint(); });
el("layer").addEventListener("change", paint);
el("unit").addEventListener("input", paint);
el("prev").addEventListener("click", () => { el("unit").value = current().unit - 1; paint(); });
el("next").addEventListener("click", () => { el("unit").value = current().unit + 1; paint(); });
el("text").addEventListener("mouseover", hover);
window.addEventListener("hashchange", fromHash);
fromHash();
"""
