"""Hooks by module type: any model is watched without touching its code."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from charloom.inspect.diagnostics.hooks import (
    LayerTap,
    module_kind,
    pack_map,
    probe,
    snapshot,
    unpack_map,
    update_ratios,
)
from charloom.models.layers import BatchNorm1d


class WrittenOutCell(nn.Module):
    """A recurrent cell written as arithmetic (torch.tanh, no nn.Tanh): watched only because
    the model marks it, as a GRU/LSTM cell of another family would."""

    diagnostics_kind = "tanh"

    def __init__(self, size: int):
        super().__init__()
        self.w = nn.Linear(2 * size, size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.w(torch.cat([x, h], dim=-1)))


class TinyRNN(nn.Module):
    def __init__(self, vocab: int = 7, size: int = 16):
        super().__init__()
        self.embedding = nn.Embedding(vocab, size)
        self.cell = WrittenOutCell(size)
        self.norm = nn.LayerNorm(size)
        self.proj = nn.Linear(size, size)
        self.relu = nn.ReLU()
        self.head = nn.Linear(size, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embedding(idx)  # (B, T, C)
        h = torch.zeros(idx.shape[0], x.shape[-1])
        outputs = []
        for t in range(idx.shape[1]):
            h = self.cell(x[:, t], h)
            outputs.append(h)
        hs = self.norm(torch.stack(outputs, dim=1))
        return self.head(self.relu(self.proj(hs)))


def test_kinds_by_type_and_by_mark():
    assert module_kind(nn.Tanh()) == "tanh" and module_kind(nn.GELU()) == "gelu"
    assert module_kind(BatchNorm1d(3)) == "norm" and module_kind(nn.LayerNorm(3)) == "norm"
    assert module_kind(nn.Embedding(3, 2)) == "embedding" and module_kind(nn.Linear(2, 2)) == "linear"
    assert module_kind(WrittenOutCell(2)) == "tanh" and module_kind(nn.Dropout()) is None


def test_tap_records_a_model_it_never_saw_including_a_cell_called_every_time_step():
    torch.manual_seed(0)
    model = TinyRNN()
    with torch.no_grad():
        model.proj.bias[:4] = -100.0  # four ReLU units that can never fire: dead
    tap = LayerTap(model)
    idx = torch.randint(0, 7, (8, 5))
    model(idx)  # not armed: nothing kept
    assert tap.outputs == {}
    tap.arm()
    model(idx).logsumexp(-1).mean().backward()
    layers = {layer["name"]: layer for layer in tap.summaries(keep_maps=True)}
    tap.remove()
    assert list(layers)[:3] == ["embedding", "cell.w", "cell"]  # the order they first ran
    cell = layers["cell"]
    assert cell["kind"] == "tanh" and cell["rows"] == 8 * 5 and cell["units"] == 16
    assert 0 <= cell["act"]["saturated"] <= 1 and "map" in cell and cell["grad"]["std"] > 0
    relu = layers["relu"]
    assert relu["act"]["dead_units"] >= 4 and relu["act"]["dead"] >= 4 / 16
    assert sum(relu["act"]["hist"]["counts"]) == 8 * 5 * 16
    assert len(relu["act"]["hist"]["edges"]) == len(relu["act"]["hist"]["counts"]) + 1
    norm = layers["norm"]["act"]
    assert "saturated" not in norm and norm["std"] == pytest.approx(1, abs=0.05)


def test_probe_leaves_the_model_as_it_was():
    from charloom.models.mlp import MLP, MLPConfig

    torch.manual_seed(0)
    model = MLP(MLPConfig(n_layer=2, hidden=20, batchnorm=True), 10).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    record = probe(model, torch.randint(0, 10, (64, 3)), torch.randint(0, 10, (64,)))
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert record["loss"] == pytest.approx(math.log(10), abs=0.1)
    matrices = [p for p in record["params"] if len(p["shape"]) == 2]
    assert all(p["grad_data"] > 0 and p["hist"]["counts"] for p in matrices)


def test_update_ratio_is_the_step_actually_taken():
    torch.manual_seed(0)
    layer = nn.Linear(50, 40)
    layer(torch.randn(32, 50)).pow(2).mean().backward()
    before = snapshot(layer)
    lr = 0.01
    with torch.no_grad():
        for p in layer.parameters():
            p -= lr * p.grad  # one SGD step
    ratios = update_ratios(layer, before)
    w = layer.weight.detach()
    expected = math.log10((lr * layer.weight.grad).std().item() / w.std().item())
    assert ratios["weight"] == pytest.approx(expected, abs=1e-3)
    assert set(ratios) == {"weight", "bias"}


def test_saturation_map_round_trips():
    mask = torch.rand(13, 37) > 0.5
    assert (unpack_map(pack_map(mask)) == mask.numpy()).all()
