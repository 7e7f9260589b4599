"""The lectures' learning-rate sweep: one training step at each of a row of rates spaced
exponentially, and the loss each step saw.

    rate_i = 10 ** (a + (b - a) i / (N - 1)),  i = 0 .. N - 1      (the lecture: 10^-3 .. 10^0)

A model trained this way reads the curve from left to right: at rates too small the loss
barely moves, then it falls, then it flattens into a valley and, without clipping, climbs
as the steps become too large for the curvature. The lecture picks a rate at the start of
the valley, where the loss has done most of its falling and the steps are not yet at
the edge of what the model tolerates; the suggestion is that rate: the first at which
the smoothed loss has come within a tenth of its whole fall (from its first value to its
lowest) of the lowest. The sweep stops early once the loss has run away (four times its
lowest). Nothing is kept but the optional plot: the training split is read as training
reads it, from its file in a scratch folder, so a text too large to hold is streamed.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from charloom.data.batches import Batches
from charloom.data.config import DataConfig
from charloom.data.loading import split_batches
from charloom.device import resolve_device, to_device
from charloom.models.base import CharModel
from charloom.models.likelihood import nll
from charloom.models.registry import build_model, make_config
from charloom.rundir import RunDir
from charloom.train.config import TrainConfig, resolved
from charloom.train.optim import make_optimizer, set_lr

SMOOTHING = 0.9  # the loss curve's moving average: 1 - 0.9 = a tenth of each new step
RUNAWAY = 4.0  # stop once the smoothed loss is this many times its lowest
VALLEY = 0.1  # the valley starts within this share of the whole fall above the lowest loss


@dataclass
class Sweep:
    """Each step's rate, the loss that step saw, and the smoothed loss."""

    rates: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    family: str
    optimizer: str
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "optimizer": self.optimizer,
            "suggested_lr": self.suggestion,
            "steps": len(self.losses),
            "rates": self.rates[: len(self.losses)],
            "losses": self.losses,
            "smoothed": self.smoothed,
            "notes": self.notes,
        }


def lr_find(
    data: DataConfig,
    family: str,
    model_options: dict[str, Any] | None = None,
    config: TrainConfig | None = None,
    start: float = 1e-3,
    end: float = 1.0,
    steps: int = 1000,
) -> Sweep:
    """One step at each of ``steps`` rates from ``start`` to ``end``, spaced exponentially,
    on batches of the training split; ``config`` gives the optimiser, batch size, seed and
    device (the rate it names is not used)."""
    config = config or TrainConfig()
    corpus = data.load(stream=True)
    splits = data.make_splits(corpus)
    vocab = data.vocabulary(corpus, splits)
    torch.manual_seed(config.seed)
    model = build_model(family, make_config(family, model_options, data.format), vocab.size, purpose="train")
    config = resolved(config, model, data.format)
    model.to(resolve_device(config.device)).train()
    rates = (10 ** np.linspace(math.log10(start), math.log10(end), steps)).tolist()
    with tempfile.TemporaryDirectory(prefix="charloom-lr-find-") as scratch:
        split_files = RunDir(scratch)
        split_files.prepare(force=True)
        split_files.write_splits(splits, data.format)
        paths = {"train": split_files.split_path("train")}
        layout, context = model.training_layout, model.context_size
        batches = split_batches(paths, vocab, data.format, layout, context, config.block_size)["train"]
        optimizer = make_optimizer(model, config.optimizer, start, config.weight_decay, config.muon_lr)
        losses, smoothed = _sweep(model, batches, optimizer, rates, config)
    return Sweep(rates, losses, smoothed, suggest(rates, smoothed), family, config.optimizer)


def _sweep(
    model: CharModel,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    rates: list[float],
    config: TrainConfig,
) -> tuple[list[float], list[float]]:
    """Each rate's step: the losses seen, raw and smoothed, until they run away."""
    device = model.device
    generator = torch.Generator().manual_seed(config.seed + 1)
    losses: list[float] = []
    smoothed: list[float] = []
    average = 0.0
    for i, rate in enumerate(rates):
        set_lr(optimizer, rate)  # a Muon group keeps its ratio to the rate swept
        inputs, targets = batches.sample(config.batch_size, generator)
        logits, _ = model(to_device(inputs, device), layout=batches.layout)
        loss = nll(logits, to_device(targets, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            break
        losses.append(value)
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed.append(average / (1 - SMOOTHING ** (i + 1)))  # the average's start-up bias taken out
        if i > 10 and smoothed[-1] > RUNAWAY * min(smoothed):
            break
    return losses, smoothed


def suggest(rates: list[float], smoothed: list[float]) -> float | None:
    """The first rate at which the smoothed loss is within ``VALLEY`` of its whole fall
    above its lowest point; None when it never fell."""
    if len(smoothed) < 3:
        return None
    lowest = min(smoothed)
    fall = smoothed[0] - lowest
    if fall <= 0:
        return None
    return next(rate for rate, loss in zip(rates, smoothed, strict=False) if loss <= lowest + VALLEY * fall)
