"""The written-out layers: dropout's rate, scaling and seeding."""

import pytest
import torch

from charloom.models.layers import Dropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.15, 0.5, 0.9])
def test_keep_mask_keeps_each_unit_with_probability_one_minus_p(p):
    torch.manual_seed(0)
    kept = keep_mask(torch.Size([200, 1000]), p).float()
    assert kept.shape == (200, 1000)
    assert abs(kept.mean().item() - (1 - p)) < 0.005  # 200k draws: std 0.001
    # every 16-bit slice of a draw is used: no position of the four is biased
    lanes = kept.view(-1, 4).mean(0)
    assert torch.allclose(lanes, torch.full((4,), 1 - p), atol=0.01)


def test_dropout_scales_the_kept_units_and_keeps_the_mean():
    torch.manual_seed(1)
    drop = Dropout(0.25).train()
    x = torch.ones(100_000)
    y = drop(x)
    kept = y != 0
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.75))
    assert abs(y.mean().item() - 1.0) < 0.01


def test_dropout_is_the_identity_in_eval_and_at_rate_zero():
    x = torch.randn(8, 5)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_dropout_follows_the_global_seed_and_passes_gradients_through_kept_units():
    drop = Dropout(0.5).train()
    x = torch.randn(64, 32, requires_grad=True)
    torch.manual_seed(3)
    first = drop(x)
    torch.manual_seed(3)
    again = drop(x)
    assert torch.equal(first, again)
    first.sum().backward()
    assert torch.equal(x.grad, (first != 0).float() * 2.0)  # d(x m / (1 - p)) / dx


def test_dropout_rejects_a_rate_outside_zero_to_one():
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(1.0)
