"""Layers written out as the lectures write them, so that they read like the paper and
the diagnostics can hook into them by type."""

from __future__ import annotations

import math

import torch
from torch import nn

TANH_GAIN = 5.0 / 3.0  # Kaiming gain for tanh: keeps activations' std steady through depth


class BatchNorm1d(nn.Module):
    """Batch normalisation over every dimension but the last (features).

    Training: normalise with the batch's mean and variance and update the running
    estimates. Eval: use the running estimates, so one example at a time gives the same
    answer as a batch. Works on (N, C) and on (N, L, C) inputs alike, which is what the
    WaveNet needs (PyTorch's BatchNorm1d expects (N, C, L) instead).

        y = gamma * (x - mean) / sqrt(var + eps) + beta
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            dims = tuple(range(x.dim() - 1))
            if _data_parallel():
                mean, var, n = _global_moments(x, dims)  # n: a tensor, read without a host sync
                denominator = (n - 1).clamp(min=1)
            else:
                mean = x.mean(dims)
                var = x.var(dims, unbiased=False)
                n = x.numel() // x.shape[-1]
                denominator = max(n - 1, 1)
            with torch.no_grad():
                unbiased_var = var * n / denominator
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(unbiased_var, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, eps={self.eps}, momentum={self.momentum}"


def _data_parallel() -> bool:
    return (
        torch.distributed.is_available()
        and torch.distributed.is_initialized()
        and (torch.distributed.get_world_size() > 1)
    )


def _global_moments(
    x: torch.Tensor, dims: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean and (biased) variance over the rows of every process's slice of the batch, as
    one process would compute them over the whole batch: the sums of x and x^2 and the row
    count, all-reduced (through autograd, so the gradient sees the whole batch too)."""
    from torch.distributed.nn.functional import all_reduce

    rows = torch.tensor([x.numel() // x.shape[-1]], dtype=x.dtype, device=x.device)
    moments = torch.cat([x.sum(dims), (x * x).sum(dims), rows])
    total = all_reduce(moments)
    C = x.shape[-1]
    count = total[-1]
    mean = total[:C] / count
    var = total[C : 2 * C] / count - mean * mean
    return mean, var, count


def kaiming_linear(
    fan_in: int, fan_out: int, gain: float, bias: bool = True, by_fan_in: bool = True, bias_std: float = 0.0
) -> nn.Linear:
    """A Linear layer with weights ~ N(0, (gain / sqrt(fan_in))^2) and zero bias.

    With the tanh gain 5/3 the pre-activations of a deep stack keep a std near 1, so
    tanh neither saturates (vanishing gradients) nor collapses to the linear regime.
    ``by_fan_in`` off gives N(0, gain^2) and ``bias_std`` random biases N(0, bias_std^2):
    the naive init of the lectures, kept to show what the fixes fix.
    """
    layer = nn.Linear(fan_in, fan_out, bias=bias)
    with torch.no_grad():
        layer.weight.normal_(0.0, gain / math.sqrt(fan_in) if by_fan_in else gain)
        if layer.bias is not None:
            layer.bias.normal_(0.0, bias_std) if bias_std else layer.bias.zero_()
    return layer


def scaled_output(
    fan_in: int, vocab_size: int, scale: float, by_fan_in: bool = True, bias_std: float = 0.0
) -> nn.Linear:
    """The output layer, scaled down so the softmax starts near uniform: loss at step 0
    is about ln(vocab_size) instead of 'confidently wrong'."""
    layer = kaiming_linear(fan_in, vocab_size, gain=1.0, by_fan_in=by_fan_in, bias_std=bias_std)
    with torch.no_grad():
        layer.weight.mul_(scale)
    return layer


class FlattenConsecutive(nn.Module):
    """Fuse every ``n`` consecutive positions into one: (B, T, C) -> (B, T / n, n * C).

    The WaveNet's tree: instead of squashing the whole context into one layer at once
    (the MLP), each level sees pairs of its input and the information is fused slowly,
    2 characters, then 4, then 8. A view, no copy: positions 2i and 2i+1 of the input
    become the two halves of position i of the output.
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.reshape(B, T // self.n, C * self.n)  # (B, T/n, n*C)

    def extra_repr(self) -> str:
        return f"n={self.n}"


LEVELS = 1 << 16  # a unit's random number is a 16-bit integer: the rate is a multiple of 1/65536


def keep_mask(shape: torch.Size, p: float, device: torch.device | None = None) -> torch.Tensor:
    """A bool mask of ``shape``, each entry True with probability 1 - p (p rounded to a
    multiple of 1/65536).

    torch's CPU dropout draws one random number per unit, a large share of a small
    transformer's training step (docs/tuning.md). Here every 64-bit draw of the (seeded)
    global generator is cut into four 16-bit integers r, uniform on [-32768, 32768), and
    a unit is kept when r >= p * 65536 - 32768: a quarter of the draws."""
    n = math.prod(shape)
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(1 << 63), (1 << 63) - 1)
    lanes = words.view(torch.int16)[:n]  # every 16-bit slice of a 64-bit draw, in order
    return lanes.view(shape) >= round(p * LEVELS) - LEVELS // 2


class Dropout(nn.Module):
    """Inverted dropout (Srivastava et al., 2014), the maths of ``nn.Dropout``:

        train:  y = x * m / (1 - p),   m ~ Bernoulli(1 - p) per unit
        eval:   y = x

    Scaling in training keeps E[y] = x, so evaluation needs no correction. Only the
    source of the random bits differs from ``nn.Dropout`` (``keep_mask``), which on a CPU
    draws one number per unit and is then a large share of a small model's step."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dropped = round(self.p * LEVELS)
        if not self.training or dropped == 0:
            return x
        kept = keep_mask(x.shape, self.p, x.device)
        return x * kept.to(x.dtype).mul_(LEVELS / (LEVELS - dropped))  # x * m / (1 - p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
