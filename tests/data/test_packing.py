import numpy as np
import pytest
import torch

from charloom.data.batches import IGNORE, ItemBatches, Layout
from charloom.data.loading import make_batches
from charloom.data.packing import Packed, PackedBatches, first_fit
from charloom.models.likelihood import nll
from charloom.models.transformer import GPT2_BLOCK, Transformer, TransformerConfig

SEQS = [[0, 3, 4, 0], [0, 5, 0], [0, 1, 2, 3, 4, 5, 6, 0], [0, 7, 7, 0], [0, 2, 0], [0, 6, 5, 4, 3, 0]]


# The lectures' GPT block (learned positions), and the default one (rotary positions,
# QK-norm) with random rather than zero residual projections and head, so that every
# path shows in the logits.
BLOCKS = pytest.mark.parametrize("block", [GPT2_BLOCK, {"zero_init": False}], ids=["gpt2", "default"])


def tiny_transformer(block_size=8, block=None):
    torch.manual_seed(0)
    config = TransformerConfig(n_layer=2, n_head=2, n_embd=16, block_size=block_size, dropout=0.0,
                               **(block or {}))  # fmt: skip
    return Transformer(config, 8).eval()  # no dropout: packed and padded must compute the same


def test_first_fit_places_every_item_without_overflow():
    lengths = np.array([5, 3, 8, 2, 7, 1, 4])
    rows, cols, n_rows = first_fit(lengths, 8)
    filled = np.zeros((n_rows, 8), dtype=int)
    for r, c, n in zip(rows, cols, lengths, strict=True):
        assert c + n <= 8
        filled[r, c : c + n] += 1
    assert filled.max() == 1 and filled.sum() == lengths.sum()


def test_packed_batches_hold_each_item_once_with_restarting_positions():
    batches = PackedBatches(SEQS, row_len=10)
    (tokens, positions, segments), targets = batches.pack(np.arange(len(SEQS)))
    assert int((targets != IGNORE).sum()) == batches.num_targets == sum(len(s) - 1 for s in SEQS)
    for k, seq in enumerate(SEQS):
        where = segments == k
        assert tokens[where].tolist() == seq[:-1]
        assert targets[where].tolist() == seq[1:]
        assert positions[where].tolist() == list(range(len(seq) - 1))
    assert (targets[segments == -1] == IGNORE).all()


@BLOCKS
def test_packed_and_padded_batches_draw_the_same_items_and_give_the_same_loss(block):
    model = tiny_transformer(block=block)
    padded, packed = ItemBatches(SEQS), PackedBatches(SEQS, row_len=12)
    for seed in range(3):
        x, y = padded.sample(5, torch.Generator().manual_seed(seed))
        px, py = packed.sample(5, torch.Generator().manual_seed(seed))
        assert isinstance(px, Packed) and px.tokens.shape[0] < 5
        assert sorted(y[y != IGNORE].tolist()) == sorted(py[py != IGNORE].tolist())
        packed_logits, _ = model(px, layout=packed.layout)
        torch.testing.assert_close(nll(packed_logits, py), nll(model(x)[0], y))


@BLOCKS
def test_forward_on_one_item_equals_its_part_of_the_packed_computation(block):
    model = tiny_transformer(block=block)
    (tokens, positions, segments), _ = PackedBatches(SEQS, row_len=16).pack(np.arange(len(SEQS)))
    logits = model.forward_packed(tokens, positions, segments)  # (R, T, V)
    for k, seq in enumerate(SEQS):
        alone = model(torch.tensor([seq[:-1]]))[0][0]  # (T_k, V)
        torch.testing.assert_close(logits[segments == k], alone, atol=1e-5, rtol=1e-5)


@BLOCKS
def test_gradients_of_packed_and_padded_batches_agree(block):
    model = tiny_transformer(block=block).train()
    x, y = ItemBatches(SEQS).sample(6, torch.Generator().manual_seed(1))
    px, py = PackedBatches(SEQS, row_len=10).sample(6, torch.Generator().manual_seed(1))
    nll(model(x)[0], y).backward()
    padded = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    nll(model(px, layout=Layout.PACKED)[0], py).backward()
    for a, p in zip(padded, model.parameters(), strict=True):
        torch.testing.assert_close(p.grad, a, atol=1e-6, rtol=1e-4)


def test_chunks_cover_every_target_once_and_make_batches_packs_for_the_transformer():
    batches = make_batches("packed", SEQS, context=8, block=8)
    assert isinstance(batches, PackedBatches)
    seen = sum(int((targets != IGNORE).sum()) for _, targets in batches.chunks(4))
    assert seen == batches.num_targets
    too_long = make_batches("packed", SEQS, context=4, block=4)  # the model will name the problem
    assert isinstance(too_long, ItemBatches)
