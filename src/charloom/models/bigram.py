"""The neural bigram: one V x V matrix of logits, trained by gradient descent.

Row i holds the log-counts (up to a constant) of what follows token i; with enough
data and a little weight decay it converges to the count-based bigram.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from charloom.models.base import WindowModel


@dataclass
class BigramConfig:
    pass


class Bigram(WindowModel):
    family = "bigram"
    config_class = BigramConfig
    train_defaults = {"batch_size": 512, "lr": 0.1}

    def __init__(self, config: BigramConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        # Zero logits: a uniform softmax, so the loss at step 0 is exactly ln(V).
        self.logits = nn.Parameter(torch.zeros(vocab_size, vocab_size))

    @classmethod
    def parameter_count(cls, config: BigramConfig, vocab_size: int) -> int:
        return vocab_size * vocab_size

    @property
    def context_size(self) -> int:
        return 1

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        return self.logits[windows[:, -1]]  # (B, V)
