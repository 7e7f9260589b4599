"""The MLP of Bengio et al. (2003), as built in the makemore lectures.

    x = concat(C[w_{t-n+1}], ..., C[w_t])        embeddings of the context window
    h = tanh(BN(W_1 x)) ... tanh(BN(W_L h))       one or more hidden layers
    logits = W_out h + b_out                      (or BN(W_out h), the lecture's deep stack)

Weights use Kaiming init: gain 5/3 on the layers that take a tanh output, whose
squashing it makes up for, and gain 1 on the first layer, whose input (the N(0, 1)
embeddings) is not squashed; with 5/3 there too the first layer starts 20% saturated.
The output layer is scaled down so the first loss is about ln(V). With BatchNorm the
linear layers carry no bias (the BatchNorm shift replaces it) and eval uses the running
statistics.

The lectures' experiments need what a good default leaves out: ``activation="linear"``
(a stack of Linear layers, to watch the std grow or shrink with the gain), weights not
divided by sqrt(fan_in) (``by_fan_in=False``) and random biases (``bias_std``,
``output_bias_std``): the naive init, whose first loss is far above ln(V).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from charloom.models.base import WindowModel
from charloom.models.layers import TANH_GAIN, BatchNorm1d, kaiming_linear, scaled_output
from charloom.options import check_options, option

ACTIVATIONS = ("tanh", "linear")


@dataclass
class MLPConfig:
    context: int = option(3, help="characters of context", minimum=1)
    embedding: int = option(10, help="embedding size per character", minimum=1)
    hidden: int = option(200, help="units per hidden layer", minimum=1)
    n_layer: int = option(1, help="number of hidden layers", minimum=1)
    batchnorm: bool = option(False, help="BatchNorm after each hidden Linear")
    gain: float = option(TANH_GAIN, help="init gain of the layers after a tanh")
    input_gain: float = option(1.0, help="init gain of the first layer (on embeddings)")
    output_scale: float = option(0.1, help="init scale of the output layer")
    activation: str = option("tanh", help="tanh, or linear (no nonlinearity)", choices=ACTIVATIONS)
    by_fan_in: bool = option(True, help="init weights with std gain / sqrt(fan_in) (off: std gain)")
    bias_std: float = option(0.0, help="init std of the hidden biases (0: zero)", minimum=0)
    output_bias_std: float = option(0.0, help="init std of the output bias (0: zero)", minimum=0)
    logits_batchnorm: bool = option(
        False,
        help="BatchNorm on the logits too, its gain starting at --output-scale (the lecture's deep stack)",
    )
    bn_momentum: float = option(
        0.1, help="BatchNorm running-statistics momentum (the lectures: 0.001)", above=0, maximum=1
    )

    def __post_init__(self):
        check_options(self)


class MLP(WindowModel):
    family = "mlp"
    config_class = MLPConfig
    adamw_only = ("embedding", "output")
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
            layers.append(
                kaiming_linear(
                    fan_in,
                    config.hidden,
                    gain,
                    bias=bias,
                    by_fan_in=config.by_fan_in,
                    bias_std=config.bias_std,
                )
            )
            if config.batchnorm:
                layers.append(BatchNorm1d(config.hidden, momentum=config.bn_momentum))
            if config.activation == "tanh":
                layers.append(nn.Tanh())
            fan_in, gain = config.hidden, config.gain
        self.hidden = nn.Sequential(*layers)
        if config.logits_batchnorm:
            # The lecture's deep stack normalises the logits as well; the BatchNorm's gain,
            # not the weights, then sets how confident the first prediction is.
            logits_norm = BatchNorm1d(vocab_size, momentum=config.bn_momentum)
            nn.init.constant_(logits_norm.weight, config.output_scale)
            linear = kaiming_linear(fan_in, vocab_size, gain, bias=False, by_fan_in=config.by_fan_in)
            self.output = nn.Sequential(linear, logits_norm)
        else:
            self.output = scaled_output(
                fan_in,
                vocab_size,
                config.output_scale,
                by_fan_in=config.by_fan_in,
                bias_std=config.output_bias_std,
            )

    @classmethod
    def parameter_count(cls, config: MLPConfig, vocab_size: int) -> int:
        """V E (embedding) + per layer fan_in H (+ H bias, or 2H BatchNorm gain and shift)
        + H V + V (output bias, or 2V for a BatchNorm on the logits)."""
        E, H, L, V = config.embedding, config.hidden, config.n_layer, vocab_size
        per_layer_extra = 2 * H if config.batchnorm else H
        hidden = config.context * E * H + (L - 1) * H * H + L * per_layer_extra
        return V * E + hidden + H * V + (2 * V if config.logits_batchnorm else V)

    @property
    def context_size(self) -> int:
        return self.config.context

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.embedding(windows)  # (B, C, E)
        x = x.flatten(1)  # (B, C*E)
        return self.output(self.hidden(x))  # (B, V)
