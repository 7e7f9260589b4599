"""The lectures' pictures of training dynamics, as PNG files (matplotlib, Agg backend).

Each function takes recorded steps (``read_diagnostics``) and writes one figure, or
returns None when the records hold nothing to draw. matplotlib is imported only here,
inside the functions: it is an optional extra (``charloom[plots]``).

    loss.png              log10 loss per step, smoothed, with the evals and ln(V)
    activations.png       overlaid histograms of each layer's outputs, first and last step
    gradients.png         the same for the gradients of those outputs
    weight_gradients.png  histograms of the weight matrices' gradients, with grad:data
    saturation.png        examples x units, white where a unit sits in its flat region
    update_ratios.png     log10 update:data per weight matrix over time, guide line at -3
    grad_data.png         grad:data per weight matrix over time
    layer_stats.png       activation std and saturation per layer over time
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charloom.errors import CharloomError
from charloom.inspect.diagnostics.checks import UPDATE_HIGH, UPDATE_LOW, UPDATE_TARGET, per_step_losses
from charloom.inspect.diagnostics.hooks import ACTIVATION_KINDS, unpack_map

Records = Sequence[dict[str, Any]]


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display), or a clear error."""
    try:
        import matplotlib
    except ImportError:
        raise CharloomError("plots need matplotlib; install it: pip install 'charloom[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    pyplot().close(fig)
    return path


def full_records(records: Records) -> list[dict[str, Any]]:
    return [r for r in records if "layers" in r]


def watched_layers(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers the lecture plots: the nonlinearities, or the Linear layers of a network
    that has none (a stack of Linear layers)."""
    layers = record.get("layers", [])
    chosen = [layer for layer in layers if layer["kind"] in ACTIVATION_KINDS]
    return chosen or [layer for layer in layers if layer["kind"] == "linear"]


def _first_and_last(records: Records) -> list[dict[str, Any]]:
    full = full_records(records)
    return full[:1] + full[-1:] if len(full) > 1 else full


def _label(layer: dict[str, Any], index: int) -> str:
    return f"{index} {layer['name']} ({layer['type'] or layer['kind']})"


def _density(hist: dict[str, list[float]]) -> tuple[list[float], list[float]]:
    """Bin centres and densities of a stored histogram (counts / (total * bin width))."""
    edges, counts = hist["edges"], hist["counts"]
    total = sum(counts) or 1
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    density = [c / (total * max(b - a, 1e-30)) for c, a, b in zip(counts, edges[:-1], edges[1:], strict=True)]
    return centres, density


# -- the loss -----------------------------------------------------------------------------
def plot_loss(
    records: Records, metrics: Sequence[dict[str, Any]], path: Path, vocab_size: int | None = None
) -> Path | None:
    """log10 of the loss: every step (faint), a moving mean (solid), the evals (markers)."""
    steps, losses = per_step_losses(records)
    evals = [m for m in metrics if m.get("train_loss") is not None or m.get("val_loss") is not None]
    if not losses and not evals:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    finite = [(s, math.log10(v)) for s, v in zip(steps, losses, strict=True) if v == v and v > 0]
    if finite:
        xs, ys = zip(*finite, strict=True)
        ax.plot(xs, ys, color="tab:blue", alpha=0.25, linewidth=0.8, label="train, per step")
        window = max(1, len(ys) // 50)
        smooth = [
            sum(ys[max(0, i - window + 1) : i + 1]) / len(ys[max(0, i - window + 1) : i + 1])
            for i in range(len(ys))
        ]
        ax.plot(xs, smooth, color="tab:blue", label=f"train, mean of {window} steps")
    for key, colour in (("train_loss", "tab:green"), ("val_loss", "tab:orange")):
        points = [(m["step"], math.log10(m[key])) for m in evals if m.get(key) and m[key] > 0]
        if points:
            ax.plot(*zip(*points, strict=True), "o-", color=colour, markersize=4, label=key.replace("_", " "))
    if vocab_size:
        ax.axhline(
            math.log10(math.log(vocab_size)),
            color="grey",
            linestyle=":",
            label=f"ln({vocab_size}): uniform guess",
        )
    ax.set(xlabel="step", ylabel="log10 loss (nats)", title="loss")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


# -- histograms ---------------------------------------------------------------------------
def plot_histograms(records: Records, path: Path, what: str = "act") -> Path | None:
    """Overlaid line histograms of each watched layer's outputs (``what="act"``) or of
    their gradients (``"grad"``), at the first and the last recorded step."""

    def label(layer: dict[str, Any], index: int, stats: dict[str, Any]) -> str:
        extra = f", sat {100 * stats['saturated']:.1f}%" if "saturated" in stats else ""
        return f"{_label(layer, index)}: mean {stats['mean']:+.2g}, std {stats['std']:.3g}{extra}"

    def layers(record: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(layer, layer.get(what)) for layer in watched_layers(record)]  # numbered as watched

    noun = "activation" if what == "act" else "gradient"
    return _distribution_panels(records, path, layers, noun, label)


def linear_outputs(record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Linear layers' outputs split in two: pre-activations (every Linear but the last,
    what the nonlinearities squash) and the logits (the last, what the softmax reads)."""
    linear = [layer for layer in record.get("layers", []) if layer["kind"] == "linear" and layer.get("act")]
    return linear[:-1], linear[-1:]


def plot_linear_outputs(records: Records, path: Path, which: str) -> Path | None:
    """Histograms of the pre-activations (``which="pre"``) or of the logits (``"logits"``)
    at the first and the last recorded step: pre-activations far beyond +-2 saturate a tanh;
    logits spread wide at step 0 are a softmax confidently wrong."""
    pick = 0 if which == "pre" else 1

    def layers(record: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(layer, layer["act"]) for layer in linear_outputs(record)[pick]]

    def label(layer: dict[str, Any], index: int, stats: dict[str, Any]) -> str:
        return f"{_label(layer, index)}: std {stats['std']:.3g}"

    noun = "pre-activation" if which == "pre" else "logit"
    return _distribution_panels(records, path, layers, noun, label)


def _distribution_panels(records: Records, path: Path, layers, noun: str, label) -> Path | None:
    """One panel per step (the first and the last recorded), a density line per layer:
    ``layers(record)`` gives (layer, stats with a histogram, or None), ``label`` names each line."""
    chosen = [r for r in _first_and_last(records) if any(stats is not None for _, stats in layers(r))]
    if not chosen:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(chosen), figsize=(7 * len(chosen), 4), squeeze=False)
    for ax, record in zip(axes[0], chosen, strict=True):
        for index, (layer, stats) in enumerate(layers(record)):
            if stats and stats["hist"]["counts"]:
                ax.plot(*_density(stats["hist"]), label=label(layer, index, stats))
        ax.set(title=f"{noun} distribution, step {record['step']}", xlabel=noun, ylabel="density")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_weight_gradients(records: Records, path: Path) -> Path | None:
    """Histograms of each weight matrix's gradient, labelled with its grad:data ratio."""
    chosen = [r for r in _first_and_last(records) if any("hist" in p for p in r.get("params", []))]
    if not chosen:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(chosen), figsize=(7 * len(chosen), 4), squeeze=False)
    for ax, record in zip(axes[0], chosen, strict=True):
        for param in record["params"]:
            if "hist" in param and param["hist"]["counts"]:
                ratio = param.get("grad_data")
                ax.plot(
                    *_density(param["hist"]),
                    label=f"{param['name']} {tuple(param['shape'])}: grad:data "
                    + ("-" if ratio is None else f"{ratio:.2e}"),
                )
        ax.set(
            title=f"weight gradient distribution, step {record['step']}", xlabel="gradient", ylabel="density"
        )
        ax.legend(fontsize=7)
    return save_figure(fig, path)


# -- saturation ---------------------------------------------------------------------------
def plot_saturation(records: Records, path: Path) -> Path | None:
    """Boolean maps, examples down and units across, white where the unit is in its flat
    region for that example. A white column is a dead unit: flat for every example."""
    with_maps = [r for r in records if r.get("maps")]
    chosen = with_maps[:1] + with_maps[-1:] if len(with_maps) > 1 else with_maps
    if not chosen:
        return None
    names = list(chosen[0]["maps"])
    plt = pyplot()
    fig, axes = plt.subplots(
        len(names), len(chosen), figsize=(6 * len(chosen), 1.8 * len(names) + 0.6), squeeze=False
    )
    for col, record in enumerate(chosen):
        for row, name in enumerate(names):
            ax = axes[row][col]
            if name not in record["maps"]:
                ax.axis("off")
                continue
            grid = unpack_map(record["maps"][name])
            ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
            ax.set_title(
                f"{name}, step {record['step']}: {100 * grid.mean():.1f}% flat, "
                f"{int(grid.all(axis=0).sum())} dead",
                fontsize=9,
            )
            ax.set_ylabel("examples", fontsize=8)
            ax.set_xlabel("units", fontsize=8)
    return save_figure(fig, path)


# -- ratios over time -----------------------------------------------------------------------
def _matrices(records: Records) -> list[str]:
    names: list[str] = []
    for record in full_records(records):
        for param in record.get("params", []):
            if len(param["shape"]) >= 2 and param["name"] not in names:
                names.append(param["name"])
    return names


def plot_update_ratios(records: Records, path: Path) -> Path | None:
    """log10(update:data) of each weight matrix over the recorded steps; the black line is
    the rule of thumb 1e-3, the dotted ones the bounds the check uses."""
    full = [r for r in full_records(records) if r.get("updates")]
    if not full:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for name in _matrices(full):
        points = [(r["step"], r["updates"][name]) for r in full if r["updates"].get(name) is not None]
        if points:
            ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None, label=name)
    ax.axhline(UPDATE_TARGET, color="black", label="1e-3 guide")
    for bound in (UPDATE_LOW, UPDATE_HIGH):
        ax.axhline(bound, color="grey", linestyle=":")
    ax.set(
        xlabel="step",
        ylabel="log10 update:data",
        title="update:data ratio (std of the step / std of weights)",
    )
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_grad_data(records: Records, path: Path) -> Path | None:
    """grad:data = std(grad) / std(weights) of each weight matrix over the recorded steps."""
    full = full_records(records)
    series = {}
    for name in _matrices(full):
        points = [
            (r["step"], p["grad_data"])
            for r in full
            for p in r["params"]
            if p["name"] == name and p.get("grad_data")
        ]
        if points:
            series[name] = points
    if not series:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for name, points in series.items():
        ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None, label=name)
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="grad:data", title="grad:data ratio (std of gradient / std of weights)")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_layer_stats(records: Records, path: Path) -> Path | None:
    """Activation std and saturation of each watched layer over the recorded steps."""
    full = full_records(records)
    if len(full) < 2 or not watched_layers(full[0]):
        return None
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for index, layer in enumerate(watched_layers(full[0])):
        name = layer["name"]
        rows = [(r["step"], next((x for x in r["layers"] if x["name"] == name), None)) for r in full]
        rows = [(step, x["act"]) for step, x in rows if x is not None]
        left.plot([s for s, _ in rows], [a["std"] for s, a in rows], label=_label(layer, index))
        if "saturated" in layer["act"]:
            right.plot(
                [s for s, _ in rows],
                [100 * a.get("saturated", 0) for s, a in rows],
                label=_label(layer, index),
            )
    left.set(xlabel="step", ylabel="std", title="activation std per layer")
    right.set(xlabel="step", ylabel="% in flat region", title="saturation per layer")
    left.legend(fontsize=7)
    if right.lines:
        right.legend(fontsize=7)
    return save_figure(fig, path)


# -- the initialisation experiment -----------------------------------------------------------
def plot_init_sim(results: Sequence[dict[str, Any]], path: Path) -> Path:
    """std of the activations after each layer, log scale, one line per experiment."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for result in results:
        layers = range(1, len(result["log10_std"]) + 1)
        ax.plot(
            layers,
            result["log10_std"],
            label=f"{result['init']} ({result['activation']}), w std {result['weight_std']:.3g}",
        )
    ax.axhline(0.0, color="grey", linestyle=":")
    ax.set(
        xlabel="layer",
        ylabel="log10 std of activations",
        title=f"initialisation through depth: width {results[0]['width']}",
    )
    ax.legend(fontsize=8)
    return save_figure(fig, path)
