"""The lecture's deep tanh MLP at init, seen through the hooks (no model code touched).

Measured on 1000 windows of the made-up names (seed 0), 5 hidden layers of 100 units:

    gain 5/3, first layer 1   std 0.64 0.66 0.65 0.65 0.66   saturated 5.2% 6.3% 5.2% 5.3% 6.2%
    gain 5/3 everywhere       std 0.77 0.71 0.67 0.66 0.66   saturated 23% 12% 7.2% 6.0% 6.3%
    gain 3 everywhere         std 0.86 0.84 0.85 0.84 0.84   saturated 48% 41% 42% 41% 41%

With 5/3 on the first layer too (the lecture's init), that layer saturates most: its
input, the embeddings, has std 1 (not squashed by a tanh), so its pre-activations have
std 5/3 and P(|z| > atanh(0.97) / (5/3)) is about 21%. The MLP therefore gives its first
layer gain 1. Deeper, a tanh stack with gain 5/3 settles where s = 5/3 * std(tanh(s z)):
s = 1.085, tanh std 0.65, and 5.4% of the units past 0.97 (see the fixed-point test), so
"under 5% in every layer" holds on average (4.3% over layers and seeds 0-3), not in the
deepest layers one by one; BatchNorm, which resets the pre-activation std to 1, brings every layer
to 3.7%.
"""

from __future__ import annotations

import math

import pytest
import torch
from diag_helpers import window_batch
from torch import nn

from charloom.inspect.diagnostics.checks import check_initial_loss, check_layers, check_model
from charloom.inspect.diagnostics.hooks import probe
from charloom.inspect.diagnostics.init import simulate_init
from charloom.models.layers import TANH_GAIN
from charloom.models.mlp import MLP, MLPConfig


def deep_mlp(gain: float, seed: int = 0, **options) -> tuple[MLP, torch.Tensor, torch.Tensor]:
    vocab_size, windows, targets = window_batch(seed=seed)
    torch.manual_seed(seed)
    model = MLP(MLPConfig(n_layer=5, hidden=100, gain=gain, **options), vocab_size)
    return model, windows, targets


def tanh_saturation(model: MLP, windows: torch.Tensor, targets: torch.Tensor) -> list[float]:
    return [layer["act"]["saturated"] for layer in layers_of(probe(model, windows, targets), "tanh")]


def layers_of(record: dict, kind: str) -> list[dict]:
    return [layer for layer in record["layers"] if layer["kind"] == kind]


def test_kaiming_gain_keeps_tanh_activations_steady_through_depth():
    model, windows, targets = deep_mlp(5 / 3)
    record = probe(model, windows, targets)
    tanh = layers_of(record, "tanh")
    assert len(tanh) == 5
    stds = [layer["act"]["std"] for layer in tanh]
    saturated = [layer["act"]["saturated"] for layer in tanh]
    assert all(0.5 <= s <= 0.8 for s in stds), stds
    assert max(stds) - min(stds) < 0.15  # steady, neither growing nor shrinking with depth
    assert all(s < 0.07 for s in saturated), saturated
    assert all(finding.level == "ok" for finding in check_layers(record))
    # over four seeds: 3.0% 3.9% 4.6% 5.0% 5.0% layer by layer, rising to the fixed point
    by_seed = [tanh_saturation(*deep_mlp(5 / 3, seed=seed)) for seed in range(4)]
    per_layer = [sum(column) / len(column) for column in zip(*by_seed, strict=True)]
    assert sum(per_layer) / len(per_layer) < 0.05 and all(s < 0.055 for s in per_layer), per_layer


def test_gain_one_on_the_first_layer_is_what_keeps_it_unsaturated():
    lecture = tanh_saturation(*deep_mlp(5 / 3, input_gain=5 / 3))
    ours = tanh_saturation(*deep_mlp(5 / 3))
    assert lecture[0] > 0.15 and ours[0] < 0.07, (lecture, ours)


def test_tanh_stack_with_gain_five_thirds_settles_near_five_percent_saturated():
    # the fixed point s = g * std(tanh(s z)) of a deep stack, on a million Gaussian draws
    z = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    s = 1.0
    for _ in range(60):
        s = TANH_GAIN * torch.tanh(s * z).std().item()
    saturated = (torch.tanh(s * z).abs() > 0.97).double().mean().item()
    assert s == pytest.approx(1.085, abs=0.005)
    assert torch.tanh(s * z).std().item() == pytest.approx(0.651, abs=0.003)
    assert 0.05 < saturated < 0.058  # so a deep enough stack cannot stay under 5% layer by layer


def test_batchnorm_keeps_every_layer_under_five_percent_saturated():
    saturated = tanh_saturation(*deep_mlp(5 / 3, batchnorm=True))
    assert all(s < 0.05 for s in saturated), saturated


def test_gain_three_saturates_tanh_and_the_check_says_why():
    model, windows, targets = deep_mlp(3.0, input_gain=3.0)
    record = probe(model, windows, targets)
    saturated = [layer["act"]["saturated"] for layer in layers_of(record, "tanh")]
    assert all(s > 0.20 for s in saturated), saturated
    finding = next(f for f in check_layers(record) if f.check == "saturation")
    assert finding.level == "warning" and "gain 5/3" in finding.message and "1 - tanh^2" in finding.message


def test_without_a_nonlinearity_gain_one_keeps_std_near_one():
    # The MLP with its Tanh layers taken out: a stack of Linear layers with gain 1.
    model, windows, targets = deep_mlp(1.0)
    model.hidden = nn.Sequential(*[nn.Identity() if isinstance(m, nn.Tanh) else m for m in model.hidden])
    linear = layers_of(probe(model, windows, targets), "linear")[:5]
    stds = [layer["act"]["std"] for layer in linear]
    assert all(0.85 < s < 1.15 for s in stds), stds
    # and the same through many layers with the init-sim machinery
    deep = simulate_init(depth=20, width=256, init="kaiming", activation="linear", batch=32)
    assert all(0.8 < s < 1.25 for s in deep.std), deep.std


def test_output_layer_not_scaled_down_makes_step_zero_loss_far_above_ln_vocab():
    vocab_size, windows, targets = window_batch()
    expected = math.log(vocab_size)
    losses = {}
    for scale in (0.1, 1.0, 10.0):
        torch.manual_seed(0)
        model = MLP(MLPConfig(n_layer=5, hidden=100, output_scale=scale), vocab_size)
        losses[scale] = probe(model, windows, targets)["loss"]
    assert losses[0.1] == pytest.approx(expected, abs=0.05)
    assert check_initial_loss(losses[0.1], vocab_size).level == "ok"
    # Kaiming-scaled output (scale 1): logits of std ~0.65, a little above ln(V)
    assert check_initial_loss(losses[1.0], vocab_size).level == "note"
    # large output weights: confidently wrong, as in the lecture (27 instead of 3.3)
    assert losses[10.0] > 3 * expected
    torch.manual_seed(0)
    model = MLP(MLPConfig(n_layer=5, hidden=100, output_scale=10.0), vocab_size)
    fired = [f for f in check_model(model, windows, targets) if f.level != "ok"]
    assert [f.check for f in fired] == ["initial-loss"]
    assert "confidently wrong" in fired[0].message and "scale the output layer" in fired[0].message
