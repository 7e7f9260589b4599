"""The neural bigram: one V x V matrix of logits, trained by gradient descent.

Row i holds the log-counts (up to a constant) of what follows token i; with enough
data and a little weight decay it converges to the count-based bigram.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from charloom.models.base import WindowModel
from charloom.options import check_options, option

INITS = ("zero", "random")


@dataclass
class BigramConfig:
    init: str = option(
        "zero",
        help="initial logits: zero (a uniform softmax) or random N(0, 1), as in the lectures",
        choices=INITS,
    )

    def __post_init__(self):
        check_options(self)


class Bigram(WindowModel):
    family = "bigram"
    config_class = BigramConfig
    adamw_only = ("logits",)
    train_defaults = {"batch_size": 512, "lr": 0.1}

    def __init__(self, config: BigramConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        # Zero logits: a uniform softmax, so the loss at step 0 is exactly ln(V). The
        # lectures start from N(0, 1) instead, which costs about 0.4 nats at first.
        start = torch.randn if config.init == "random" else torch.zeros
        self.logits = nn.Parameter(start(vocab_size, vocab_size))

    @classmethod
    def parameter_count(cls, config: BigramConfig, vocab_size: int) -> int:
        return vocab_size * vocab_size

    @property
    def context_size(self) -> int:
        return 1

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        return self.logits[windows[:, -1]]  # (B, V)
