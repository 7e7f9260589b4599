"""An exponential moving average of the weights, evaluated in place of the raw weights.

Late in training the optimiser's steps jitter the weights around a good point; their
running mean sits nearer to it than any one of them (Polyak averaging). After each step

    avg = decay * avg + (1 - decay) * w            (torch: avg.lerp_(w, 1 - decay))

With ``decay`` near 1 the average covers the last ~1 / (1 - decay) steps. At the start it
would remember the random initialisation for that long, so the decay warms up as
``min(decay, (1 + t) / (10 + t))`` after t updates: the first updates follow the weights
closely. Buffers (BatchNorm's running statistics) are copied rather than averaged, since
they are already running means.
"""

from __future__ import annotations

import copy

import torch

from charloom.errors import CharloomError
from charloom.models.base import CharModel


class WeightAverage:
    """Holds an averaged copy of a model; ``model`` is what evaluation and sampling use."""

    def __init__(self, model: CharModel, decay: float):
        if not 0 < decay < 1:
            raise CharloomError(f"a weight average needs a decay in (0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.updates = 0

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: CharModel) -> None:
        weight = 1.0 - self.current_decay()
        for averaged, live in zip(self.model.parameters(), model.parameters(), strict=True):
            averaged.lerp_(live, weight)
        for averaged, live in zip(self.model.buffers(), model.buffers(), strict=True):
            averaged.copy_(live)
        self.updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        self.model.load_tensors(tensors)
        self.updates = updates
