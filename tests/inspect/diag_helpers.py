"""Helpers of the diagnostics tests: a batch of real windows of the made-up names."""

from __future__ import annotations

import torch

from charloom.data.batches import WindowBatches, encode_items
from charloom.data.vocab import Vocab
from tiny_data import make_names


def window_batch(
    count: int = 1000, seed: int = 0, context: int = 3
) -> tuple[int, torch.Tensor, torch.Tensor]:
    """(vocab size, windows, targets): ``count`` random examples from the made-up names."""
    names = make_names()
    vocab = Vocab.from_texts(names)
    batches = WindowBatches(encode_items(names, vocab), context)
    windows, targets = batches.sample(count, torch.Generator().manual_seed(seed))
    return vocab.size, windows, targets
