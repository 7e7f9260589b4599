"""Statistics of one training step, taken through hooks: no model code is edited.

A ``LayerTap`` hooks every module whose type it knows (``nn.Linear``, ``nn.Tanh``,
``nn.ReLU``, ``nn.GELU``, BatchNorm/LayerNorm, ``nn.Embedding``) and any module a
model marks with an attribute ``diagnostics_kind = "tanh"`` (or another kind below),
which is how a recurrent cell written out as arithmetic can still be watched. When
armed for a step it keeps each watched module's output and, during backward, the
gradient of the loss with respect to that output (what the lectures read from
``layer.out`` and ``layer.out.grad``).

The summaries, per layer (outputs flattened to rows x units):

    mean, std, histogram                     of the activations and of their gradients
    saturated = mean(|tanh| > 0.97)          the flat tails, where d tanh = 1 - tanh^2 < 0.06
    dead      = mean over units of all(flat over the batch)   units that pass no gradient

and per parameter ``p``:

    grad:data   = std(p.grad) / std(p)                     (matrices only)
    update:data = log10(std(p_after - p_before) / std(p))  the step actually taken
"""

from __future__ import annotations

import base64
import math
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from charloom.models.layers import BatchNorm1d

SATURATION = 0.97  # |tanh| above this: the gradient through the unit is under 6% of its input's
HIST_BINS = 30
MAP_ROWS = 64  # examples kept in a saturation map

ACTIVATION_KINDS = ("tanh", "sigmoid", "relu", "gelu")

_KIND_OF_TYPE: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
    (nn.ReLU, "relu"),
    (nn.GELU, "gelu"),
    (nn.Linear, "linear"),
    ((BatchNorm1d, nn.BatchNorm1d, nn.LayerNorm), "norm"),
    (nn.Embedding, "embedding"),
)


def module_kind(module: nn.Module) -> str | None:
    """The kind a module is watched as, or None. A model marks a module of its own with
    ``module.diagnostics_kind = "tanh"`` (``sigmoid``, ``relu``, ``gelu``, ``linear``...)."""
    marked = getattr(module, "diagnostics_kind", None)
    if marked:
        return str(marked)
    for types, kind in _KIND_OF_TYPE:
        if isinstance(module, types):
            return kind
    return None


def flat_mask(x: torch.Tensor, kind: str, threshold: float = SATURATION) -> torch.Tensor | None:
    """Where a unit's output sits in its nonlinearity's flat region (no gradient), or None
    for kinds without one. sigmoid(x) = (1 + tanh(x/2)) / 2, hence the same bound."""
    if kind == "tanh":
        return x.abs() > threshold
    if kind == "sigmoid":
        return (2 * x - 1).abs() > threshold
    if kind == "relu":
        return x == 0
    return None


def histogram(x: torch.Tensor, bins: int = HIST_BINS) -> dict[str, list[float]]:
    """Bin edges and counts over the finite values of ``x`` (equal-width bins, min to max)."""
    x = x.detach().float().flatten()
    x = x[torch.isfinite(x)]
    if x.numel() == 0:
        return {"edges": [], "counts": []}
    lo, hi = x.min().item(), x.max().item()
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(x, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1)
    return {"edges": [_short(e) for e in edges.tolist()], "counts": [int(c) for c in counts.tolist()]}


def pack_map(mask: torch.Tensor) -> dict[str, Any]:
    """A boolean (examples, units) map as base64 bits, small enough for a JSON line."""
    array = mask.detach().cpu().numpy().astype(bool)
    return {"shape": list(array.shape), "bits": base64.b64encode(np.packbits(array).tobytes()).decode()}


def unpack_map(packed: dict[str, Any]) -> np.ndarray:
    rows, cols = packed["shape"]
    bits = np.unpackbits(np.frombuffer(base64.b64decode(packed["bits"]), dtype=np.uint8))
    return bits[: rows * cols].reshape(rows, cols).astype(bool)


def _short(value: float) -> float:
    """Four significant digits: enough for a plot, a quarter of the bytes in JSON."""
    return float(f"{value:.4g}")


def _stat(x: torch.Tensor) -> tuple[float, float]:
    return _short(x.mean().item()), _short(x.std().item() if x.numel() > 1 else 0.0)


def _rows(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Outputs of every call of a module this step as one (rows, units) matrix."""
    units = tensors[0].shape[-1] if tensors[0].dim() else 1
    if all(t.dim() and t.shape[-1] == units for t in tensors):
        return torch.cat([t.reshape(-1, units) for t in tensors]).float()
    return torch.cat([t.reshape(-1, 1) for t in tensors]).float()


def summarize_layer(
    outputs: list[torch.Tensor],
    grads: list[torch.Tensor],
    kind: str,
    keep_map: bool = False,
    saturation: float = SATURATION,
) -> dict[str, Any]:
    """mean/std/histogram of a layer's outputs (and their gradients), with saturation and
    dead units for kinds that have a flat region."""
    x = _rows(outputs)
    mean, std = _stat(x)
    act: dict[str, Any] = {"mean": mean, "std": std, "hist": histogram(x)}
    mask = flat_mask(x, kind, saturation)
    summary: dict[str, Any] = {"kind": kind, "units": x.shape[1], "rows": x.shape[0], "act": act}
    if mask is not None:
        dead = mask.all(dim=0)
        act.update(
            saturated=_short(mask.float().mean().item()),
            dead=_short(dead.float().mean().item()),
            dead_units=int(dead.sum()),
        )
        if keep_map:
            summary["map"] = pack_map(mask[:MAP_ROWS])
    if grads:
        g = _rows(grads)
        g_mean, g_std = _stat(g)
        summary["grad"] = {"mean": g_mean, "std": g_std, "hist": histogram(g)}
    return summary


def _first_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


class LayerTap:
    """Forward hooks on the watched modules of a model; collects one armed step.

    >>> tap = LayerTap(model)                 # doctest: +SKIP
    >>> tap.arm(); loss = f(model(x)); loss.backward()
    >>> layers = tap.summaries(); tap.disarm()
    """

    def __init__(self, model: nn.Module, saturation: float = SATURATION):
        self.saturation = saturation  # |tanh| above this is saturated (the lectures: 0.97 or 0.99)
        self.kinds: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.handles = []
        for name, module in model.named_modules():
            kind = module_kind(module)
            if kind is not None:
                self.kinds[name] = kind
                self.types[name] = type(module).__name__
                self.handles.append(module.register_forward_hook(partial(self._forward, name)))
        self.armed = False
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self.grads: dict[str, list[torch.Tensor]] = {}

    def arm(self) -> None:
        self.outputs, self.grads, self.armed = {}, {}, True

    def disarm(self) -> None:
        self.outputs, self.grads, self.armed = {}, {}, False

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _forward(self, name: str, module: nn.Module, inputs: Any, output: Any) -> None:
        if not self.armed:
            return
        tensor = _first_tensor(output)
        if tensor is None or not tensor.is_floating_point():
            return
        # a copy: a later in-place op (ReLU(inplace=True)) must not change what we saw
        self.outputs.setdefault(name, []).append(tensor.detach().clone())
        if tensor.requires_grad:
            tensor.register_hook(partial(self._backward, name))

    def _backward(self, name: str, grad: torch.Tensor) -> None:
        self.grads.setdefault(name, []).append(grad.detach().clone())

    def summaries(self, keep_maps: bool = False) -> list[dict[str, Any]]:
        """One summary per watched module that ran, in the order they first ran."""
        return [
            {
                "name": name or "(model)",
                "type": self.types[name],
                **summarize_layer(
                    outputs, self.grads.get(name, []), self.kinds[name], keep_maps, self.saturation
                ),
            }
            for name, outputs in self.outputs.items()
        ]

    def take(self) -> dict[str, Any]:
        """The step's layer summaries, with the saturation maps set apart (they are only
        written for some steps): ``{"layers": [...], "maps": {layer: packed map}}``."""
        layers = self.summaries(keep_maps=True)
        maps = {layer["name"]: layer.pop("map") for layer in layers if "map" in layer}
        return {"layers": layers, "maps": maps}


def summarize_parameters(model: nn.Module) -> list[dict[str, Any]]:
    """Per parameter: data std, gradient mean/std and, for matrices, grad:data and the
    gradient's histogram (the lecture's 'weights gradient distribution')."""
    rows = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        data = p.detach().float()
        row: dict[str, Any] = {
            "name": name,
            "shape": list(p.shape),
            "data_std": _short(data.std().item()) if data.numel() > 1 else None,
        }
        if p.grad is not None:
            grad = p.grad.detach().float()
            row["grad_mean"], row["grad_std"] = _stat(grad)
            if p.dim() >= 2:
                row["grad_data"] = _ratio(row["grad_std"], row["data_std"])
                row["hist"] = histogram(grad)
        rows.append(row)
    return rows


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters before the optimiser step, to measure the step actually taken."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def update_ratios(model: nn.Module, before: dict[str, torch.Tensor]) -> dict[str, float | None]:
    """log10(std(p_after - p_before) / std(p_after)) per parameter; about -3 is healthy.
    None where it is undefined (a constant parameter, or one the step did not move)."""
    ratios: dict[str, float | None] = {}
    for name, p in model.named_parameters():
        if name not in before or p.numel() < 2:
            continue
        after = p.detach().float()
        ratios[name] = _log10_ratio((after - before[name].float()).std().item(), after.std().item())
    return ratios


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den or not math.isfinite(num) or not math.isfinite(den):
        return None
    return _short(num / den)


def _log10_ratio(num: float, den: float) -> float | None:
    ratio = _ratio(num, den)
    return _short(math.log10(ratio)) if ratio and ratio > 0 else None


def probe(model: nn.Module, inputs: Any, targets: torch.Tensor, layout: Any = None) -> dict:
    """One forward and backward pass on a batch laid out as ``layout`` (default: as the
    model trains), recorded; the model is left unchanged (gradients cleared; running
    statistics and the train/eval mode restored). What the
    lectures do at step 0.

    >>> record = probe(MLP(MLPConfig(n_layer=5), 27), windows, targets)   # doctest: +SKIP
    >>> [layer["act"]["std"] for layer in record["layers"] if layer["kind"] == "tanh"]
    """
    from charloom.models.likelihood import nll

    was_training = model.training
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    model.train()
    tap = LayerTap(model)
    try:
        tap.arm()
        model.zero_grad(set_to_none=True)
        logits, _ = model(inputs, layout=layout or model.training_layout)
        loss = nll(logits, targets)
        loss.backward()
        record = {"step": 0, "loss": _short(loss.item()), **tap.take(), "params": summarize_parameters(model)}
    finally:
        tap.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    return record
