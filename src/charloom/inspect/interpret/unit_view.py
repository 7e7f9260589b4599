"""One unit along a text, as the slides show a cell: the text alone, each character's
background coloured by the unit's value there (blue below zero, red above, white at zero),
as a condensed HTML page and as a PNG of rows for a report."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from charloom.errors import CharloomError
from charloom.inspect.interpret.neurons import Trace


def parse_unit(spec: str, trace: Trace) -> tuple[str, int, int]:
    """'QUANTITY:LAYER:UNIT' (e.g. 'cell:1:37') -> its parts, checked against the trace."""
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise CharloomError(f"--unit takes QUANTITY:LAYER:UNIT, e.g. hidden:0:5; got {spec!r}")
    quantity, layer, unit = parts[0], int(parts[1]), int(parts[2])
    if quantity not in trace.quantities:
        raise CharloomError(f"--unit: this run has no {quantity!r}; it has {', '.join(trace.quantities)}")
    _, layers, units = trace.quantities[quantity].shape
    if layer >= layers or unit >= units:
        raise CharloomError(f"--unit {spec}: {quantity} has {layers} layer(s) of {units} units, from 0")
    return quantity, layer, unit


def unit_values(trace: Trace, spec: str) -> np.ndarray:
    quantity, layer, unit = parse_unit(spec, trace)
    return trace.quantities[quantity][:, layer, unit].astype(np.float64)


def colour(value: float, scale: float) -> tuple[int, int, int]:
    """White at 0, toward red for positive and blue for negative values, by |value| / scale."""
    strength = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    fade = int(round(255 * (1 - strength)))
    return (255, fade, fade) if value > 0 else (fade, fade, 255)


def unit_page(trace: Trace, spec: str, title: str = "") -> str:
    """The text coloured by one unit: a page with nothing else on it."""
    values = unit_values(trace, spec)
    scale = float(np.abs(values).max()) or 1.0
    spans = []
    for char, value in zip(trace.text, values, strict=True):
        r, g, b = colour(value, scale)
        shown = "\u21b5<br>" if char == "\n" else html.escape(char).replace(" ", "&nbsp;")
        spans.append(f'<span style="background:rgb({r},{g},{b})" title="{value:+.3f}">{shown}</span>')
    heading = html.escape(title or f"unit {spec}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{heading}</title>
<style>body {{ font-family: ui-monospace, monospace; margin: 2em; line-height: 1.5; }}
.text {{ white-space: normal; word-break: break-all; }} .say {{ font-family: system-ui, sans-serif; }}</style>
</head><body><h1 class="say">{heading}</h1>
<p class="say">red: above 0, blue: below; full colour at |value| {scale:.3f}</p>
<div class="text">{"".join(spans)}</div></body></html>
"""


def plot_unit(trace: Trace, spec: str, path: str | Path, width: int = 80) -> Path:
    """A PNG of the text in rows of ``width`` characters on the unit's colours."""
    try:
        import matplotlib
    except ImportError:
        raise CharloomError("plots need matplotlib; install it: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = unit_values(trace, spec)
    scale = float(np.abs(values).max()) or 1.0
    rows = (len(values) + width - 1) // width
    grid = np.full((rows, width), np.nan)
    grid.flat[: len(values)] = values
    fig, ax = plt.subplots(figsize=(width * 0.13, rows * 0.26 + 0.6))
    ax.imshow(grid, cmap="bwr", vmin=-scale, vmax=scale, aspect="auto", interpolation="nearest")
    for t, char in enumerate(trace.text):
        shown = "\u21b5" if char == "\n" else char
        ax.text(t % width, t // width, shown, ha="center", va="center", fontsize=7, family="monospace")
    ax.set_axis_off()
    ax.set_title(f"unit {spec}", fontsize=9)
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
