"""Token-weighted evaluation: mean NLL per character (boundary included, as makemore
counts it), bits per character and perplexity."""

from __future__ import annotations

import math

import torch

from charloom.data.batches import Batches
from charloom.models.base import CharModel
from charloom.train.loss import batch_logits, nll_sum


@torch.no_grad()
def evaluate(
    model: CharModel, batches: Batches, batch_size: int = 512, max_targets: int | None = None
) -> dict[str, float]:
    """Mean NLL over the targets of a split (the first ``max_targets`` of them if given)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for inputs, targets in batches.chunks(batch_size):
            logits = batch_logits(model, inputs, targets)
            loss, n = nll_sum(logits, targets)
            total += float(loss)
            count += n
            if max_targets is not None and count >= max_targets:
                break
    finally:
        model.train(was_training)
    return summary(total, count)


def summary(total_nll: float, count: int) -> dict[str, float]:
    mean = total_nll / max(count, 1)
    return {"nll": mean, "bpc": mean / math.log(2), "perplexity": math.exp(min(mean, 700)), "tokens": count}
