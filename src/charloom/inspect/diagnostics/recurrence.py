"""Recurrent training watched through time: gate saturation and the gradient's reach.

On a fixed probe batch, at each recorded step, the model's ``trace_recurrence`` gives

- per layer and gate, the share of values saturated to the left (a sigmoid gate below
  0.1, a tanh below -0.9) and to the right (above 0.9): an LSTM whose forget gates sit at
  the right keeps its cells for long; gates stuck at either end pass no gradient;
- ``reach[j]``: the size of the last position's loss gradient j steps back, relative to
  its size at that position. In a vanilla RNN it falls by orders of magnitude within a
  few dozen steps (the vanishing gradient of the char-RNN post); the LSTM's additive cell keeps it.

The record is the ``recurrence`` entry of a diagnostics.jsonl line; families with no
recurrence (``trace_recurrence`` is None) have none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from charloom.device import to_device
from charloom.inspect.diagnostics.checks import Finding
from charloom.inspect.diagnostics.plots import pyplot, save_figure

PROBE_ROWS = 8
LOW, HIGH = 0.1, 0.9  # Karpathy, Johnson & Fei-Fei (2015): left- and right-saturated gates
FAR = 32  # steps back at which the reach is judged
VANISHED = 1e-3


@torch.no_grad()
def _shares(values: torch.Tensor, tanh: bool) -> dict[str, float]:
    low = -HIGH if tanh else LOW
    return {
        "left": float((values < low).float().mean()),
        "right": float((values > HIGH).float().mean()),
        "mean": float(values.mean()),
    }


def recurrence_record(model: Any, probe: tuple[torch.Tensor, torch.Tensor]) -> dict[str, Any] | None:
    """The ``recurrence`` entry of one recorded step, or None for a model without one."""
    inputs, targets = probe
    was_training = model.training
    model.eval()  # no dropout, so no draw from the generator the run's steps use
    try:
        with torch.enable_grad():
            trace = model.trace_recurrence(*to_device((inputs, targets), model.device))
    finally:
        model.train(was_training)
    if trace is None:
        return None
    gates = [
        {"layer": k, "gate": name, **_shares(values, tanh=name == "candidate")}
        for k, layer in enumerate(trace["gates"])
        for name, values in layer.items()
    ]
    return {"gates": gates, "reach": [round(r, 8) for r in trace["reach"]]}


def probe_batch(batches: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The same few training rows at every recorded step, drawn with a generator of their
    own (the run's batch generator is not touched)."""
    return batches.sample(PROBE_ROWS, torch.Generator().manual_seed(0))


def check_recurrence(record: dict[str, Any]) -> list[Finding]:
    entry = record.get("recurrence")
    if not entry or len(entry["reach"]) <= FAR:
        return []
    reach = entry["reach"][FAR]
    if reach >= VANISHED:
        return []
    return [
        Finding(
            "vanishing-through-time",
            "note",
            record["step"],
            f"the loss gradient {FAR} steps back is {reach:.1e} of its size at the last position: "
            "what lies that far back is barely learned from; a GRU or LSTM keeps it (their gates add "
            "the state instead of squashing it)",
            subject="reach",
            value=reach,
        )
    ]


def plot_recurrence(records: list[dict[str, Any]], path: Path) -> Path | None:
    """Reach through time (log scale) at the first and last recorded step, and each gate's
    saturated shares over training."""
    traced = [r for r in records if r.get("recurrence")]
    if not traced:
        return None
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for record in (traced[0], traced[-1]):
        reach = record["recurrence"]["reach"]
        left.semilogy(range(len(reach)), [max(r, 1e-12) for r in reach], label=f"step {record['step']}")
    left.set(xlabel="steps back", ylabel="|dL/dh| relative to the last position", title="gradient reach")
    left.legend()
    steps = [r["step"] for r in traced]
    for i, gate in enumerate(traced[0]["recurrence"]["gates"]):
        label = f"layer {gate['layer']} {gate['gate']}"
        for side, style in (("left", "--"), ("right", "-")):
            shares = [r["recurrence"]["gates"][i][side] for r in traced]
            right.plot(steps, shares, style, color=f"C{i % 10}", label=f"{label} {side}")
    right.set(xlabel="step", ylabel="share saturated", title="gates: left (dashed) and right saturated")
    right.legend(fontsize=6, ncol=2)
    return save_figure(fig, path)
