"""The MLP of Bengio et al. (2003), as built in the makemore lectures.

    x = concat(C[w_{t-n+1}], ..., C[w_t])        embeddings of the context window
    h = tanh(BN(W_1 x)) ... tanh(BN(W_L h))       one or more hidden layers
    logits = W_out h + b_out

Weights use Kaiming init: gain 5/3 on the layers that take a tanh output, whose
squashing it makes up for, and gain 1 on the first layer, whose input (the N(0, 1)
embeddings) is not squashed; with 5/3 there too the first layer starts 20% saturated.
The output layer is scaled down so the first loss is about ln(V). With BatchNorm the
linear layers carry no bias (the BatchNorm shift replaces it) and eval uses the running
statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from charloom.models.base import WindowModel, require_at_least_one
from charloom.models.layers import TANH_GAIN, BatchNorm1d, kaiming_linear, scaled_output


@dataclass
class MLPConfig:
    context: int = field(default=3, metadata={"help": "characters of context"})
    embedding: int = field(default=10, metadata={"help": "embedding size per character"})
    hidden: int = field(default=200, metadata={"help": "units per hidden layer"})
    n_layer: int = field(default=1, metadata={"help": "number of hidden layers"})
    batchnorm: bool = field(default=False, metadata={"help": "BatchNorm after each hidden Linear"})
    gain: float = field(default=TANH_GAIN, metadata={"help": "init gain of the layers after a tanh"})
    input_gain: float = field(default=1.0, metadata={"help": "init gain of the first layer (on embeddings)"})
    output_scale: float = field(default=0.1, metadata={"help": "init scale of the output layer"})

    def __post_init__(self):
        require_at_least_one(self, "context", "embedding", "hidden", "n_layer")


class MLP(WindowModel):
    family = "mlp"
    config_class = MLPConfig
    # At this size a large batch costs little more per step than a small one.
    train_defaults = {"batch_size": 512, "lr": 1e-2}

    def __init__(self, config: MLPConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        self.embedding = nn.Embedding(vocab_size, config.embedding)
        layers: list[nn.Module] = []
        fan_in = config.context * config.embedding
        gain = config.input_gain
        for _ in range(config.n_layer):
            bias = not config.batchnorm  # BatchNorm's shift replaces the bias
            layers.append(kaiming_linear(fan_in, config.hidden, gain, bias=bias))
            if config.batchnorm:
                layers.append(BatchNorm1d(config.hidden))
            layers.append(nn.Tanh())
            fan_in, gain = config.hidden, config.gain
        self.hidden = nn.Sequential(*layers)
        self.output = scaled_output(fan_in, vocab_size, config.output_scale)

    @classmethod
    def parameter_count(cls, config: MLPConfig, vocab_size: int) -> int:
        """V E (embedding) + per layer fan_in H (+ H bias, or 2H BatchNorm gain and shift)
        + H V + V (output)."""
        E, H, L, V = config.embedding, config.hidden, config.n_layer, vocab_size
        per_layer_extra = 2 * H if config.batchnorm else H
        hidden = config.context * E * H + (L - 1) * H * H + L * per_layer_extra
        return V * E + hidden + H * V + V

    @property
    def context_size(self) -> int:
        return self.config.context

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.embedding(windows)  # (B, C, E)
        x = x.flatten(1)  # (B, C*E)
        return self.output(self.hidden(x))  # (B, V)
