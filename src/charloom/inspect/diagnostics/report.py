"""One self-contained HTML page per run: what was trained, what the checks say, the
figures (embedded as base64 data URIs, so the file stands alone and can be mailed or
archived), the metrics and the samples. No scripts, no external resources."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charloom.inspect.diagnostics.checks import Finding

CAPTIONS = {
    "loss": "Loss per step (log10), smoothed, with the periodic evals. The dotted line is ln(V), where a "
    "model that knows nothing starts; a start far above it is a softmax confidently wrong.",
    "activations": "Distribution of each watched layer's outputs at the first and the last recorded "
    "step. Tanh layers should spread over (-1, 1) without piling up at the ends; the std "
    "should stay about the same from layer to layer.",
    "gradients": "Distribution of the gradients flowing into those outputs. The layers should look "
    "alike: gradients that shrink or grow from layer to layer vanish or explode with depth.",
    "preactivations": "What each Linear layer hands its nonlinearity. Much beyond +-2 a tanh is flat "
    "(saturated); a std near 1 keeps it in its useful range.",
    "logits": "The output layer's logits. At step 0 they should sit near 0 (a uniform guess, loss "
    "ln V); spread wide, the softmax starts confidently wrong.",
    "weight_gradients": "Gradients of the weight matrices, with grad:data = std(grad) / std(weights). A "
    "matrix whose ratio stands far from the others learns at another speed.",
    "saturation": "Examples down, units across; white where a unit sits in the flat region of its "
    "nonlinearity (|tanh| > 0.97, or zero for ReLU), where no gradient passes. A white "
    "column is a dead unit.",
    "update_ratios": "log10 of std(update) / std(weights) per weight matrix over time: the step actually "
    "taken, relative to the weights' size. About -3 (the black line) is healthy; far "
    "below, the learning rate is too low; far above, too high.",
    "grad_data": "grad:data per weight matrix over time.",
    "layer_stats": "Activation std and saturation of each watched layer over time.",
    "recurrence": "Left: how much of the last position's loss gradient reaches each earlier position of "
    "the top recurrent layer, at the first and last recorded step; a vanilla RNN's falls by orders of "
    "magnitude within tens of steps. Right: each gate's share of values saturated low (< 0.1, tanh "
    "< -0.9) and high (> 0.9) over training.",
}
LEVEL_COLOURS = {"ok": "#1a7f37", "note": "#0969da", "warning": "#bf8700", "error": "#cf222e"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1f2328; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { font-size: 0.9em; color: #57606a; }
ul.checks { list-style: none; padding: 0; } ul.checks li { margin: 0.4em 0; padding-left: 0.6em; }
.level { display: inline-block; min-width: 5em; font-weight: bold; }
.samples { columns: 3; font-family: ui-monospace, monospace; }
"""


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if isinstance(value, float):
                cells.append(f'<td class="num">{value:.4g}</td>')
            else:
                cells.append(f"<td>{'-' if value is None else _e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _pairs(data: dict[str, Any]) -> str:
    return _table(
        [{"option": k, "value": v if not isinstance(v, (list, dict)) else str(v)} for k, v in data.items()],
        ["option", "value"],
    )


def _checks(findings: Sequence[Finding]) -> str:
    if not findings:
        return "<p>No checks ran: the run recorded no training steps.</p>"
    items = []
    for f in findings:
        colour = LEVEL_COLOURS.get(f.level, "#1f2328")
        items.append(
            f'<li><span class="level" style="color:{colour}">{_e(f.level)}</span> '
            f"<b>{_e(f.check)}</b> (step {f.step}): {_e(f.message)}</li>"
        )
    return f'<ul class="checks">{"".join(items)}</ul>'


def _figures(plots: dict[str, Path]) -> str:
    parts = []
    for name, path in plots.items():
        parts.append(
            f'<figure id="fig-{_e(name)}"><img src="{data_uri(path)}" alt="{_e(name)}">'
            f"<figcaption>{_e(CAPTIONS.get(name, name))}</figcaption></figure>"
        )
    return "".join(parts) or "<p>No figures.</p>"


def _samples(samples: Sequence[tuple[int, str]]) -> str:
    if not samples:
        return "<p>No samples were taken.</p>"
    steps = sorted({step for step, _ in samples})
    shown = steps[:1] + steps[-1:] if len(steps) > 1 else steps
    parts = []
    for step in shown:
        texts = [text for s, text in samples if s == step]
        items = "".join(f"<div>{_e(text) or '&nbsp;'}</div>" for text in texts)
        parts.append(f'<h3>step {step}</h3><div class="samples">{items}</div>')
    return "".join(parts)


def render_report(
    info: dict[str, Any],
    findings: Sequence[Finding],
    plots: dict[str, Path],
    metrics: Sequence[dict[str, Any]],
    samples: Sequence[tuple[int, str]],
    notes: Sequence[str] = (),
) -> str:
    """The whole page as a string; ``plots`` maps a figure's name to its PNG."""
    name = info.get("name", "run")
    model, data, status = info["model"], info.get("data", {}), info.get("status", {})
    summary = (
        f"{_e(model['family'])}, {model.get('parameters', 0):,} parameters, "
        f"{len(info['vocab']['chars'])} characters; data {_e(data.get('source', '?'))} "
        f"({_e(data.get('format', '?'))}); status {_e(status.get('state', '?'))} at step "
        f"{_e(status.get('step', '?'))}"
    )
    note_html = "".join(f"<p><i>{_e(n)}</i></p>" for n in notes)
    metric_columns = ["step", "train_loss", "val_loss", "lr", "tokens_per_s", "train_seconds"]
    data_info = {k: v for k, v in data.items() if k in ("source", "format", "fingerprint", "splits", "dedup")}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>charloom report: {_e(name)}</title><style>{STYLE}</style></head>
<body>
<h1>{_e(name)}</h1>
<p>{summary}</p>{note_html}
<h2>Checks</h2>{_checks(findings)}
<h2>Figures</h2>{_figures(plots)}
<h2>Metrics</h2>{_table(metrics, metric_columns) if metrics else "<p>No evals recorded.</p>"}
<h2>Samples</h2>{_samples(samples)}
<h2>Configuration</h2>
<h3>model</h3>{_pairs(model.get("config", {}))}
<h3>training</h3>{_pairs(info.get("train", {}))}
<h3>data</h3>{_pairs(data_info)}
<p style="color:#57606a">charloom {_e(info.get("charloom_version", ""))}</p>
</body></html>
"""
