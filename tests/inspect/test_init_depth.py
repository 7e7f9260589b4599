"""The lecture's deep tanh MLP at init, seen through the hooks (no model code touched).

Measured on 1000 windows of the made-up names (seed 0), 5 hidden layers of 100 units:

    gain 5/3   std 0.76 0.69 0.67 0.66 0.65   saturated 21.6% 9.8% 6.6% 6.5% 5.5%
    gain 3     std 0.86 0.84 0.85 0.84 0.84   saturated 48% 41% 42% 41% 41%

The first layer saturates most at gain 5/3: its input, the embeddings, has std 1 (not
squashed by a tanh), so its pre-activations have std 5/3 and P(|z| > atanh(0.97) / (5/3))
is about 21%. From the second layer on, saturation settles near 5-10%.
"""

from __future__ import annotations

import math

import pytest
import torch
from diag_helpers import window_batch
from torch import nn

from charloom.inspect.checks import check_initial_loss, check_layers, check_model
from charloom.inspect.hooks import probe
from charloom.inspect.init import simulate_init
from charloom.models.mlp import MLP, MLPConfig


def deep_mlp(gain: float, **options) -> tuple[MLP, torch.Tensor, torch.Tensor]:
    vocab_size, windows, targets = window_batch()
    torch.manual_seed(0)
    model = MLP(MLPConfig(n_layer=5, hidden=100, gain=gain, **options), vocab_size)
    return model, windows, targets


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
    assert saturated[0] < 0.25 and all(s < 0.12 for s in saturated[1:]), saturated
    assert all(finding.level == "ok" for finding in check_layers(record))


def test_batchnorm_keeps_every_layer_under_five_percent_saturated():
    model, windows, targets = deep_mlp(5 / 3, batchnorm=True)
    saturated = [layer["act"]["saturated"] for layer in layers_of(probe(model, windows, targets), "tanh")]
    assert all(s < 0.05 for s in saturated), saturated


def test_gain_three_saturates_tanh_and_the_check_says_why():
    model, windows, targets = deep_mlp(3.0)
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
