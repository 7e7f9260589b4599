"""The hierarchical MLP of makemore part 5, after WaveNet (van den Oord et al., 2016).

    x_0 = [C[w_{t-7}], ..., C[w_t]]                      (B, 8, E)  embeddings of the context
    x_k = dropout(tanh(BN(W_k · pairs(x_{k-1}))))        (B, 8 / 2^k, H)  k = 1 .. log2(8)
    logits = W_out x_K + b_out                           (B, V)

where ``pairs`` concatenates positions 2i and 2i+1. The MLP crushes the whole context
into one hidden layer in a single step; here every level fuses only neighbours, so the
information is combined gradually, as in WaveNet's dilated causal convolutions.

The BatchNorm is charloom's own, which normalises over every dimension but the last, so
its statistics for a (B, L, H) input are taken over B * L rows (PyTorch's BatchNorm1d
would want (B, H, L) and normalise the wrong dimension: the bug of the lecture). The
linear layers carry no bias when a BatchNorm follows (its shift replaces it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from charloom.models.base import WindowModel, require
from charloom.models.layers import (
    TANH_GAIN,
    BatchNorm1d,
    Dropout,
    FlattenConsecutive,
    kaiming_linear,
    scaled_output,
)
from charloom.options import check_options, option


@dataclass
class WaveNetConfig:
    context: int = option(8, help="characters of context (a power of two)")
    embedding: int = option(24, help="embedding size per character", minimum=1)
    hidden: int = option(128, help="units per level", minimum=1)
    batchnorm: bool = option(True, help="BatchNorm after each level's Linear")
    output_scale: float = option(0.1, help="init scale of the output layer", above=0)
    dropout: float = option(0.1, help="dropout after each level's tanh (0: none)", minimum=0, below=1)

    def __post_init__(self):
        check_options(self)
        require(
            self.context >= 2 and self.context & (self.context - 1) == 0,
            f"--context must be a power of two (2, 4, 8, 16, ...) for the wavenet, "
            f"which fuses pairs of positions; got {self.context}",
        )


class WaveNet(WindowModel):
    family = "wavenet"
    config_class = WaveNetConfig
    adamw_only = ("embedding", "output")
    # Without weight decay and dropout it overfits names within 600 s (docs/tuning.md).
    train_defaults = {"batch_size": 256, "lr": 5e-3, "weight_decay": 0.1}

    def __init__(self, config: WaveNetConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        self.embedding = nn.Embedding(vocab_size, config.embedding)
        levels: list[nn.Module] = []
        fan_in = 2 * config.embedding
        for _ in range(int(math.log2(config.context))):
            levels.append(FlattenConsecutive(2))
            bias = not config.batchnorm
            levels.append(kaiming_linear(fan_in, config.hidden, TANH_GAIN, bias=bias))
            if config.batchnorm:
                levels.append(BatchNorm1d(config.hidden))
            levels.append(nn.Tanh())
            if config.dropout:
                levels.append(Dropout(config.dropout))
            fan_in = 2 * config.hidden
        self.levels = nn.Sequential(*levels)
        self.output = scaled_output(config.hidden, vocab_size, config.output_scale)

    @classmethod
    def parameter_count(cls, config: WaveNetConfig, vocab_size: int) -> int:
        """V E + per level fan_in H (2E at the first, 2H after) + H (bias) or 2H (BatchNorm)
        + H V + V."""
        E, H, V = config.embedding, config.hidden, vocab_size
        levels = int(math.log2(config.context))
        extra = 2 * H if config.batchnorm else H
        return V * E + 2 * E * H + (levels - 1) * 2 * H * H + levels * extra + H * V + V

    @property
    def context_size(self) -> int:
        return self.config.context

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.embedding(windows)  # (B, C, E)
        x = self.levels(x)  # (B, 1, H): each level halves the positions
        return self.output(x[:, 0])  # (B, V)
