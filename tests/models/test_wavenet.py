"""The hierarchical WaveNet-style MLP and its layers."""

from __future__ import annotations

import torch

from charloom.data.batches import Layout
from charloom.models.layers import BatchNorm1d, FlattenConsecutive
from charloom.models.wavenet import WaveNet, WaveNetConfig

V = 11


def test_default_size_is_the_lectures():
    model = WaveNet(WaveNetConfig(), 27)
    assert 70_000 < model.num_parameters() < 80_000  # the lecture's 76,579
    assert model.context_size == 8


def test_flatten_consecutive_fuses_neighbours():
    x = torch.arange(2 * 4 * 3).view(2, 4, 3)  # (B, T, C)
    y = FlattenConsecutive(2)(x)
    assert y.shape == (2, 2, 6)  # (B, T/2, 2C)
    assert torch.equal(y[1, 1], torch.cat([x[1, 2], x[1, 3]]))


def test_batchnorm_normalises_over_batch_and_positions():
    bn = BatchNorm1d(5).train()
    x = 3 + 2 * torch.randn(8, 4, 5)  # (B, L, C)
    y = bn(x)
    torch.testing.assert_close(y.mean((0, 1)), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std((0, 1), unbiased=False), torch.ones(5), atol=1e-3, rtol=0)


def test_one_example_in_eval_equals_the_batch(make):
    """After training, eval uses the running statistics: rows are independent."""
    model = make("wavenet").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    windows = torch.randint(0, V, (64, 4))
    targets = torch.randint(0, V, (64,))
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model.forward_window(windows), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert not torch.allclose(model.levels[2].running_mean, torch.zeros(16))
    model.eval()
    with torch.no_grad():
        batch = model.forward_window(windows)  # (64, V)
        one_by_one = torch.cat([model.forward_window(w[None]) for w in windows])
    torch.testing.assert_close(one_by_one, batch, atol=1e-5, rtol=1e-5)


def test_without_batchnorm_the_levels_have_biases(make):
    model = make("wavenet", batchnorm=False)
    assert not any(isinstance(m, BatchNorm1d) for m in model.modules())
    assert all(m.bias is not None for m in model.levels if isinstance(m, torch.nn.Linear))


def test_dropout_drops_in_training_only_and_adds_no_parameters():
    plain = WaveNet(WaveNetConfig(context=4, embedding=4, hidden=16), V)
    dropped = WaveNet(WaveNetConfig(context=4, embedding=4, hidden=16, dropout=0.5), V)
    with torch.no_grad():  # same weights (the Dropout modules shift the layer numbers)
        for mine, theirs in zip(dropped.parameters(), plain.parameters(), strict=True):
            mine.copy_(theirs)
    windows = torch.randint(0, V, (32, 4))
    window = {"layout": Layout.WINDOW}
    torch.testing.assert_close(dropped.eval()(windows, **window)[0], plain.eval()(windows, **window)[0])
    torch.manual_seed(0)
    (first, _), (second, _) = dropped.train()(windows, **window), dropped(windows, **window)
    assert not torch.allclose(first, second)  # a fresh mask each call
