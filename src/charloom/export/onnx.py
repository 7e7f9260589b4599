"""A run's next-character step as an ONNX graph: (token, state) -> (logits, state).

Any ONNX runtime can then generate with it (``examples/onnx_sample.py`` does, with
onnxruntime and NumPy only). What the state holds follows from the model's interface,
never from its family's name:

    a model that carries a state (rnn, gru, lstm)   its own state tensors, (B, L, H) each
    a model of a fixed window (ngram, bigram, mlp,  the window of the last C tokens (B, C),
        wavenet)                                    boundaries (id 0) before the first
    any other (the transformer)                     the last context - 1 tokens (B, T), T
                                                    growing from 0; the graph reads them
                                                    with the new token, as charloom's own
                                                    step does once its cache is full

The vocabulary, the run's model config and how to start the state are in the model's
metadata under ``charloom`` (JSON), so the file is all a sampler needs.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from charloom.data.batches import Layout
from charloom.errors import CharloomError
from charloom.io import atomic_write_bytes
from charloom.models.base import CharModel

OPSET = 18


class StateStep(nn.Module):
    """A model that carries its own state: one token read on from it, the state's tensors named."""

    def __init__(self, model: CharModel):
        super().__init__()
        self.model = model
        self.names = sorted(model.init_state(1))

    def forward(self, token: torch.Tensor, *state: torch.Tensor):
        logits, after = self.model(token[:, None], dict(zip(self.names, state, strict=True)))
        return logits[:, -1], *(after[name] for name in self.names)

    def initial(self) -> dict[str, Any]:
        start = self.model.init_state(1)
        return {
            name: {"shape": list(start[name].shape[1:]), "values": start[name][0].tolist()}
            for name in self.names
        }


class WindowStep(nn.Module):
    """A fixed-window model: the window moves on by the new token, then one lookup."""

    def __init__(self, model: CharModel):
        super().__init__()
        self.model = model
        self.names = ["window"]

    def forward(self, token: torch.Tensor, window: torch.Tensor):
        logits, window = self.model(token[:, None], window)
        return logits[:, -1], window

    def initial(self) -> dict[str, Any]:
        C = self.model.context_size
        return {"window": {"shape": [C], "values": [0] * C, "dtype": "int64"}}


class SequenceStep(nn.Module):
    """A model that reads a sequence of up to ``context_size`` tokens: the tokens kept
    with the new one last, its logits at the last position; then the last context - 1."""

    def __init__(self, model: CharModel):
        super().__init__()
        self.model = model
        self.names = ["tokens"]
        self.keep = model.context_size - 1

    def forward(self, token: torch.Tensor, tokens: torch.Tensor):
        seen = torch.cat([tokens, token[:, None]], dim=1)  # (B, T + 1)
        logits, _ = self.model(seen)
        return logits[:, -1], seen[:, -self.keep :]

    def initial(self) -> dict[str, Any]:
        return {"tokens": {"shape": [0], "values": [], "dtype": "int64"}}


def step_module(model: CharModel) -> StateStep | WindowStep | SequenceStep:
    if model.fitted_by_counting:
        raise CharloomError(
            f"a {model.family} model is a table of counts that it searches (searchsorted), which ONNX "
            "has no operator for; sample it with charloom, or export a trained family"
        )
    if model.carries_state:
        return StateStep(model)
    if model.training_layout == Layout.WINDOW:
        return WindowStep(model)
    if model.context_size is None or model.context_size < 2:
        raise CharloomError(f"a {model.family} model has no step that ONNX can hold")
    return SequenceStep(model)


def example_inputs(step: nn.Module, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Inputs to trace with: a batch of tokens and a state of a length that is not 1, so
    that no dimension is fixed by accident."""
    token = torch.ones(batch, dtype=torch.long)
    if isinstance(step, StateStep):
        start = step.model.init_state(batch)
        return token, *(start[name].contiguous() for name in step.names)
    if isinstance(step, WindowStep):
        return token, torch.zeros(batch, step.model.context_size, dtype=torch.long)
    return token, torch.ones(batch, min(3, step.keep), dtype=torch.long)


def export_onnx(run, output: str | Path) -> dict[str, Any]:
    """Write ``run``'s step to ``output`` (atomically); returns what the metadata holds."""
    try:
        import onnx
    except ImportError:
        raise CharloomError(
            "exporting to ONNX needs the onnx package: pip install 'charloom[export]'"
        ) from None
    model = run.model.to("cpu").float().eval()
    step = step_module(model).eval()  # a wrapper left in training mode would export dropout
    names = step.names
    next_names = [f"next_{name}" for name in names]
    dynamic = {"token": {0: "batch"}, "logits": {0: "batch"}}
    for name, after in zip(names, next_names, strict=True):
        dynamic[name] = {0: "batch", **({1: "length"} if isinstance(step, SequenceStep) else {})}
        dynamic[after] = {0: "batch", **({1: "next_length"} if isinstance(step, SequenceStep) else {})}
    meta = {
        "format_version": 1,
        "family": run.family,
        "config": run.info["model"]["config"],
        "data_format": run.format,
        "vocab": run.vocab.to_json(),
        "boundary_id": 0 if run.vocab.boundary else None,
        "context_size": model.context_size,
        "inputs": ["token", *names],
        "outputs": ["logits", *next_names],
        "initial_state": step.initial(),
    }
    path = Path(output)
    scratch = path.with_name(f".{path.name}.graph")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python ints and the exporter's deprecation
        torch.onnx.export(
            step,
            example_inputs(step),
            str(scratch),
            input_names=["token", *names],
            output_names=["logits", *next_names],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    try:
        graph = onnx.load(str(scratch))
    finally:
        scratch.unlink(missing_ok=True)
    graph.doc_string = f"charloom {run.family} run {run.path.name}: (token, state) -> (logits, state)"
    onnx.helper.set_model_props(graph, {"charloom": json.dumps(meta)})
    atomic_write_bytes(path, graph.SerializeToString())
    return meta
