"""A run's model as one web page that generates offline, in any browser, with no server.

The page holds everything inline: the weights (float32, base64), the vocabulary, the
training items for the novelty mark (unless left out), and a forward pass written in
JavaScript for each family (``forward.js``) that computes what the Python model computes
in evaluation mode. Decoding (temperature, top-k, a prefix, starts-with, a seed) follows
charloom's, one item at a time.

What the JavaScript reads of a model is its state dict under PyTorch's names, its config,
and for the window models with a stack of layers (mlp, wavenet) the stack and the
output layer in order, as written here from the modules themselves, so that a layer the
page cannot run is refused by name rather than computed wrongly.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from charloom.data.conditions import token_for
from charloom.errors import CharloomError
from charloom.io import atomic_write_bytes
from charloom.models.base import CharModel
from charloom.models.layers import BatchNorm1d, Dropout, FlattenConsecutive

# The window models whose layers the page walks: the attribute holding the stack, and
# whether the window's embeddings are flattened into one row before it (the MLP) or fused
# pairwise by the stack itself (the WaveNet).
STACKS = {"mlp": ("hidden", True), "wavenet": ("levels", False)}
# The families forward.js computes; a family added to charloom needs its forward pass there.
PAGE_FAMILIES = ("ngram", "bigram", "mlp", "wavenet", "rnn", "gru", "lstm", "transformer")
EXACT_INTEGERS = 2**53  # JavaScript's numbers hold integers exactly up to here


def layers_of(module: nn.Module, name: str) -> list[dict[str, Any]]:
    """A module as the page's forward pass runs it, in order, tensors by state-dict name."""
    if isinstance(module, nn.Sequential):
        return [
            layer for index, child in module.named_children() for layer in layers_of(child, f"{name}.{index}")
        ]
    if isinstance(module, nn.Linear):
        bias = f"{name}.bias" if module.bias is not None else None
        return [{"op": "linear", "weight": f"{name}.weight", "bias": bias}]
    if isinstance(module, BatchNorm1d):
        return [
            {"op": "batchnorm", "weight": f"{name}.weight", "bias": f"{name}.bias",
             "mean": f"{name}.running_mean", "var": f"{name}.running_var", "eps": module.eps}
        ]  # fmt: skip
    if isinstance(module, nn.Tanh):
        return [{"op": "tanh"}]
    if isinstance(module, FlattenConsecutive) and module.n == 2:
        return [{"op": "pairs"}]
    if isinstance(module, Dropout):  # the identity in evaluation
        return []
    raise CharloomError(f"the page has no forward pass for a {type(module).__name__} layer")


def describe(model: CharModel) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """What the page's forward pass reads: the family, its config and what its stack of
    layers is, and the tensors by name."""
    if model.family not in PAGE_FAMILIES:
        raise CharloomError(f"the page has no forward pass for the {model.family} family (export/forward.js)")
    spec: dict[str, Any] = {"family": model.family, "config": asdict(model.config)}
    tensors = dict(model.state_dict())
    if model.fitted_by_counting:
        keys = model.context_keys
        if len(keys) and int(keys.max()) >= EXACT_INTEGERS:
            raise CharloomError(
                f"this n-gram's context keys are too large for a web page (order {model.config.n})"
            )
        spec["context_keys"] = keys.tolist()
        tensors = {"counts": model.counts}
    elif model.family in STACKS:
        attribute, flatten_first = STACKS[model.family]
        spec["context"] = model.context_size
        spec["layers"] = [
            *([{"op": "flatten"}] if flatten_first else []),
            *layers_of(getattr(model, attribute), attribute),
            *layers_of(model.output, "output"),  # on the one row left
        ]
    if getattr(model.config, "tie_weights", False):
        tensors.pop("head.weight")  # the page reads the token embedding in its place
    return spec, tensors


def encoded(tensor: torch.Tensor) -> dict[str, Any]:
    values = tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4")
    return {"shape": list(tensor.shape), "b64": base64.b64encode(values.tobytes()).decode("ascii")}


def page_data(run: Any, train_items: bool = True) -> dict[str, Any]:
    """Everything the page needs, as JSON."""
    model = run.model.to("cpu").float().eval()
    spec, tensors = describe(model)
    lines = run.format == "lines"
    categories = {name: token_for(run.info, name) for name in run.categories}
    meta = {
        "family": run.family,
        "format": run.format,
        "vocab": run.vocab.to_json(),
        "categories": categories or None,
        "parameters": run.info["model"].get("parameters", 0),
        "val_loss": run.info.get("status", {}).get("val_nll"),
        # a text's page opens with its first words as the prefix (one line: an input holds no newline)
        "example_prefix": None if lines else run.split_text("train")[:200].split("\n")[0][:20],
    }
    return {
        "meta": meta,
        "model": spec,
        "tensors": {name: encoded(tensor) for name, tensor in tensors.items()},
        "train": run.split_items("train") if lines and train_items else None,
    }


def render_page(data: dict[str, Any], title: str) -> str:
    template = resources.files("charloom.export").joinpath("page.html").read_text(encoding="utf-8")
    forward = resources.files("charloom.export").joinpath("forward.js").read_text(encoding="utf-8")
    # "<" escaped, so nothing in the data (a training item, say) can close the script tag
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    page = template.replace("__TITLE__", html.escape(title)).replace("__FORWARD_JS__", forward)
    return page.replace("__DATA__", payload)  # last: the data is never searched for placeholders


def export_page(run: Any, output: str | Path, train_items: bool = True) -> dict[str, Any]:
    """Write ``run``'s page to ``output`` (atomically); returns the page's data."""
    data = page_data(run, train_items)
    title = f"charloom: {run.path.name} ({run.family})"
    atomic_write_bytes(Path(output), render_page(data, title).encode("utf-8"))
    return data
