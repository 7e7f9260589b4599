"""The one loss of charloom: mean negative log-likelihood per real token.

Targets equal to ``IGNORE`` (padding) count for nothing; boundary tokens are real
targets (predicting the end of a name is part of the task, as in makemore).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from charloom.data.batches import IGNORE


def nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean NLL in nats over non-ignored targets. logits[..., V], targets[...]."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


def nll_sum(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed NLL and the number of real targets, for exact token-weighted means."""
    flat = targets.reshape(-1)
    total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat, ignore_index=IGNORE, reduction="sum")
    return total, int((flat != IGNORE).sum())


def batch_logits(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Logits shaped like ``targets``: one target per row means the rows are windows
    (window layout, ``forward_window``); a row of targets means whole sequences; inputs
    that are a tuple (``data.packing.Packed``) hold several items per row."""
    if isinstance(inputs, tuple):
        return model.forward_packed(*inputs)  # (R, T, V)
    if targets.dim() == 1:
        return model.forward_window(inputs)  # (B, V)
    return model(inputs)  # (B, T, V)
