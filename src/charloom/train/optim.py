"""Optimisers and learning-rate schedules.

AdamW (the default) decays only matrices and embeddings, never biases or norm gains.
Muon (``muon.py``) takes the hidden matrices and AdamW the rest. SGD is the lectures'.

Schedules follow *progress* in [0, 1], from steps or from the time budget, so the same
schedule serves ``--max-steps`` and ``--time-budget`` and ends when either does:

- ``cosine``: a short linear warm-up, then a cosine from the peak down to a tenth of it.
- ``wsd`` (warm-up, stable, decay; the speedrun's): the warm-up, the peak held, then a
  straight line down to zero over the last ``cooldown`` part of training (the cooldown of
  Hagele et al., 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
  Durations").
  Held high for longer, the rate explores while the budget lasts and settles only at the
  end, which a budget in seconds (whose step count is unknown in advance) needs; the last
  stretch at rates near zero is where the loss falls most (docs/tuning.md).
- ``wsd-sqrt``: the same, the decay shaped 1 - sqrt(x) over the cooldown's fraction x
  instead of 1 - x (the same paper's best shape): it leaves the peak faster and lingers
  at low rates longer.
- ``sgd``: the full rate for the first half of training, a tenth of it after.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from charloom.train.muon import Muon

OPTIMIZERS = ("adamw", "muon", "sgd")
SCHEDULES = ("cosine", "wsd", "wsd-sqrt")
FLOOR = 0.1  # cosine ends at a tenth of the peak rate
BETAS = (0.9, 0.99)


def make_optimizer(
    model: nn.Module, name: str, lr: float, weight_decay: float, muon_lr: float | None = None
) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "adamw":
        # fused: one kernel updates every tensor of a group (the same update, far fewer ops);
        # on a small model the per-tensor loop otherwise costs a tenth of each step
        fused = all(p.dtype.is_floating_point and p.device.type in ("cpu", "cuda") for p in decay + no_decay)
        return torch.optim.AdamW(groups, lr=lr, betas=BETAS, fused=fused)
    if name == "muon":
        return Muon(muon_groups(model, lr, weight_decay, muon_lr or lr), lr=lr, betas=BETAS)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def muon_groups(model: nn.Module, lr: float, weight_decay: float, muon_lr: float) -> list[dict]:
    """Muon for the model's hidden matrices; AdamW for what the family lists in
    ``adamw_only`` and for every vector. Weight decay on every matrix, none on vectors."""
    kept = tuple(getattr(model, "adamw_only", ()))
    matrices, tables, vectors = [], [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.split(".")[0] in kept:
            (tables if param.dim() >= 2 else vectors).append(param)
        elif param.dim() == 2:
            matrices.append(param)
        else:
            vectors.append(param)
    groups = [
        {"params": matrices, "muon": True, "lr_ratio": muon_lr / lr, "weight_decay": weight_decay},
        {"params": tables, "weight_decay": weight_decay},
        {"params": vectors, "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The schedule's rate into every group, times the group's own ratio (Muon's)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_ratio", 1.0)


def lr_at(
    name: str,
    peak: float,
    progress: float,
    step: int,
    warmup_steps: int,
    schedule: tuple[tuple[int, float], ...] | None = None,
    shape: str = "cosine",
    cooldown: float = 0.4,
) -> float:
    """Learning rate for a point of training; ``progress`` runs from 0 to 1. A given
    ``schedule`` of (step, rate) pairs wins: the rate of the last pair reached."""
    if schedule:
        return next(rate for start, rate in reversed(schedule) if step >= start)
    if name == "sgd":
        return peak if progress < 0.5 else peak * 0.1
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = min(max(progress, 0.0), 1.0)
    if shape in ("wsd", "wsd-sqrt"):
        into = max(0.0, 1.0 - (1.0 - progress) / cooldown)  # how far into the cooldown, 0 to 1
        return peak * (1.0 - (math.sqrt(into) if shape == "wsd-sqrt" else into))
    floor = FLOOR * peak
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


__all__ = ["OPTIMIZERS", "SCHEDULES", "make_optimizer", "set_lr", "lr_at"]
