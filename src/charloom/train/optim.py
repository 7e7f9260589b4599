"""Optimisers and learning-rate schedules.

AdamW (the default) decays only matrices and embeddings, never biases or norm gains,
and follows a short warm-up with a cosine decay to a tenth of the peak rate. SGD uses
the lectures' step decay: the full rate for the first half of training, a tenth of it
after. Schedules follow *progress* in [0, 1], from steps or from the time budget, so
the same schedule serves ``--max-steps`` and ``--time-budget``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

OPTIMIZERS = ("adamw", "sgd")


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "adamw":
        # fused: one kernel updates every tensor of a group (the same update, far fewer ops);
        # on a small model the per-tensor loop otherwise costs a tenth of each step
        fused = all(p.dtype.is_floating_point and p.device.type in ("cpu", "cuda") for p in decay + no_decay)
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), fused=fused)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def lr_at(
    name: str,
    peak: float,
    progress: float,
    step: int,
    warmup_steps: int,
    schedule: tuple[tuple[int, float], ...] | None = None,
) -> float:
    """Learning rate for a point of training; ``progress`` runs from 0 to 1. A given
    ``schedule`` of (step, rate) pairs wins: the rate of the last pair reached."""
    if schedule:
        return next(rate for start, rate in reversed(schedule) if step >= start)
    if name == "sgd":
        return peak if progress < 0.5 else peak * 0.1
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    floor = 0.1 * peak
    progress = min(max(progress, 0.0), 1.0)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))
