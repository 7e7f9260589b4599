"""The compare page: one self-contained HTML file (figures inline, no scripts) with the
table of ``compare.py``, the val and train loss of every run on shared axes (every step
where the run recorded it), activation std and update:data by layer for the runs that
recorded diagnostics, and the last samples of each run side by side."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from charloom.inspect.compare import step_curve
from charloom.inspect.diagnostics.checks import per_step_losses
from charloom.inspect.diagnostics.plots import pyplot, watched_layers
from charloom.inspect.diagnostics.watch import read_diagnostics
from charloom.rundir import RunDir

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { font-size: 0.9em; color: #57606a; }
td.samples { font-family: ui-monospace, monospace; white-space: pre; }
.mark { color: #57606a; font-size: 0.85em; }
"""

COLUMNS = [
    ("run", "name"),
    ("family", "family"),
    ("parameters", "parameters"),
    ("steps", "steps"),
    ("seconds", "train_seconds"),
    ("tokens/s", "tokens_per_s"),
    ("best val", "val_nll"),
    ("test", "test_nll"),
    ("new", "new"),
    ("held-out", "held_out"),
    ("in train", "in_train"),
]
SHARES = ("new", "held_out", "in_train")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _cell(key: str, value: Any) -> str:
    if value is None:
        return '<td class="num">-</td>'
    if key in SHARES:
        return f'<td class="num">{value:.0%}</td>'
    if isinstance(value, float):
        return (
            f'<td class="num">{value:,.0f}</td>' if abs(value) >= 100 else f'<td class="num">{value:.4f}</td>'
        )
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{_e(value)}</td>"


def _table(rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for title, _ in COLUMNS)
    body = "".join("<tr>" + "".join(_cell(k, row[k]) for _, k in COLUMNS) + "</tr>" for row in rows)
    return f'<table class="runs"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(fig, caption: str, name: str) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    pyplot().close(fig)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    image = f'<img alt="{_e(caption)}" src="{uri}">'
    return f'<figure id="{name}">{image}<figcaption>{_e(caption)}</figcaption></figure>'


def loss_figures(rows: list[dict[str, Any]]) -> str:
    """Val loss at each evaluation, and train loss (per step where recorded), every run."""
    plt = pyplot()
    fig, (val_ax, train_ax) = plt.subplots(1, 2, figsize=(13, 4.5))
    drawn = False
    for index, row in enumerate(rows):
        colour = f"C{index % 10}"
        metrics = RunDir(row["run"]).read_metrics()
        val = [(m["step"], m["val_loss"]) for m in metrics if _finite(m.get("val_loss"))]
        if len(val) == 1 and not row["steps"]:  # fitted by counting: a floor, not a curve
            for ax in (val_ax, train_ax):
                ax.axhline(val[0][1], color=colour, linestyle="--", label=f"{row['name']} (counted)")
            drawn = True
            continue
        if val:
            val_ax.plot(*zip(*val, strict=True), "o-", color=colour, markersize=3, label=row["name"])
            drawn = True
        steps, losses = step_curve(metrics)
        if not losses:  # runs from before every step was logged: their diagnostics, if any
            steps, losses = per_step_losses(read_diagnostics(row["run"]))
        if losses:
            train_ax.plot(
                steps, losses, color=colour, alpha=0.6, linewidth=0.7, label=f"{row['name']}, per step"
            )
        train = [(m["step"], m["train_loss"]) for m in metrics if _finite(m.get("train_loss"))]
        if train:
            train_ax.plot(*zip(*train, strict=True), "o-", color=colour, markersize=3, label=row["name"])
            drawn = True
    if not drawn:
        plt.close(fig)
        return "<p>No run recorded a loss.</p>"
    for ax, what in ((val_ax, "val loss"), (train_ax, "train loss")):
        ax.set(xlabel="step", ylabel=f"{what} (nats/char)", title=what)
        ax.legend(fontsize=7)
    return _figure(fig, "Val loss at each evaluation and train loss, every run on shared axes.", "loss")


def layer_figures(rows: list[dict[str, Any]]) -> str:
    """Activation std by layer (last recorded step) and the mean log10 update:data of each
    weight matrix, for the runs that recorded diagnostics."""
    recorded = [(row, read_diagnostics(row["run"])) for row in rows]
    recorded = [(row, [r for r in records if r.get("layers")]) for row, records in recorded]
    recorded = [(row, records) for row, records in recorded if records]
    if not recorded:
        return "<p>No run recorded diagnostics (train with <code>--diagnostics</code>).</p>"
    plt = pyplot()
    fig, (act_ax, update_ax) = plt.subplots(1, 2, figsize=(13, 4.5))
    for index, (row, records) in enumerate(recorded):
        layers = [layer for layer in watched_layers(records[-1]) if layer.get("act")]
        act_ax.plot(
            range(1, len(layers) + 1), [layer["act"]["std"] for layer in layers], "o-", label=row["name"]
        )
        updates: dict[str, list[float]] = {}
        for record in records:
            for name, value in (record.get("updates") or {}).items():
                if _finite(value):
                    updates.setdefault(name, []).append(value)
        if updates:
            means = [sum(v) / len(v) for v in updates.values()]
            update_ax.plot(range(1, len(means) + 1), means, "o-", color=f"C{index % 10}", label=row["name"])
    update_ax.axhline(-3, color="grey", linestyle=":", label="1e-3, the rule of thumb")
    act_ax.set(xlabel="layer", ylabel="std of outputs", title="activation std by layer, last recorded step")
    update_ax.set(xlabel="weight matrix", ylabel="log10 update:data", title="update:data, mean over steps")
    for ax in (act_ax, update_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7)
    return _figure(fig, "Activation std by layer and update:data per weight matrix.", "layers")


def samples_table(rows: list[dict[str, Any]], count: int = 12) -> str:
    """The last logged samples of each run, a column each."""
    columns = []
    for row in rows:
        samples = RunDir(row["run"]).read_samples()
        last = [s for s in samples if samples and s.step == samples[-1].step][:count]
        columns.append(
            "<br>".join(
                f"{_e(s.text) or '&nbsp;'}" + (f' <span class="mark">{_e(s.seen)}</span>' if s.seen else "")
                for s in last
            )
            or "-"
        )
    head = "".join(f"<th>{_e(row['name'])}</th>" for row in rows)
    cells = "".join(f'<td class="samples">{column}</td>' for column in columns)
    return f'<table class="samples"><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>'


def render_compare(rows: list[dict[str, Any]], title: str = "charloom compare") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<h2>Runs</h2>{_table(rows)}
<h2>Loss</h2>{loss_figures(rows)}
<h2>Inside the layers</h2>{layer_figures(rows)}
<h2>Samples</h2>{samples_table(rows)}
</body></html>
"""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
