"""Initialisation through depth: push a batch through a stack of random layers and watch
the std of the activations, as in "Notes on Weight Initialization for Deep Neural Networks".

    x_0 ~ N(0, 1)                (batch, width)
    x_l = f(x_{l-1} @ W_l)       W_l ~ N(0, s^2), (width, width), no bias

Each entry of x @ W sums ``width`` products, so its variance is width * s^2 * var(x):

    normal   s = 1                   std grows by sqrt(width) a layer: explodes
    scaled   s = 1 / divisor         std shrinks by sqrt(width) / divisor: vanishes for 100
    xavier   s = 1 / sqrt(fan_in)    std stays put through linear layers
    kaiming  s = gain / sqrt(fan_in) gain 5/3 for tanh, sqrt(2) for ReLU, 1 for linear: the
                                     gain pays back what the nonlinearity takes away

Linear and ReLU layers are positively homogeneous (f(c x) = c f(x) for c > 0), so the
stack is run on a rescaled copy of x and the scale is carried separately as a logarithm:
the reported std is exact even where it passes 1e308 or 1e-308 (the blog's float32 run
ends in NaN). tanh is bounded, so it runs as is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from charloom.errors import CharloomError
from charloom.models.layers import TANH_GAIN
from charloom.options import check_seed

INITS = ("normal", "scaled", "xavier", "kaiming")
ACTIVATIONS = ("linear", "tanh", "relu")
GAINS = {"linear": 1.0, "tanh": TANH_GAIN, "relu": math.sqrt(2.0)}


@dataclass
class InitSim:
    """The result of one experiment: the std (and log10 std, and mean) after each layer."""

    init: str
    activation: str
    depth: int
    width: int
    batch: int
    seed: int
    weight_std: float
    std: list[float]
    log10_std: list[float]
    mean: list[float]

    def to_json(self) -> dict:
        return asdict(self)


def weight_std(init: str, activation: str, fan_in: int, divisor: float = 100.0) -> float:
    """The std of the weights of one layer under an init scheme."""
    if init == "normal":
        return 1.0
    if init == "scaled":
        return 1.0 / divisor
    if init == "xavier":
        return 1.0 / math.sqrt(fan_in)
    return GAINS[activation] / math.sqrt(fan_in)


def simulate_init(
    depth: int = 100,
    width: int = 512,
    init: str = "xavier",
    activation: str = "linear",
    batch: int = 64,
    seed: int = 0,
    divisor: float = 100.0,
) -> InitSim:
    """std of the activations after each of ``depth`` random layers.

    >>> simulate_init(100, 512, "normal").log10_std[-1] > 100      # explodes
    True
    >>> 0.5 < simulate_init(100, 512, "xavier").std[-1] < 2        # stays put
    True
    """
    _validate(depth, width, init, activation, batch, divisor)
    check_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    s = weight_std(init, activation, width, divisor)
    x = torch.randn(batch, width, generator=generator).double()
    homogeneous = activation in ("linear", "relu")
    log_scale = 0.0  # natural log of the factor x has been divided by
    std, log10_std, mean = [], [], []
    for _ in range(depth):
        # drawn in float32 (far cheaper), multiplied out in float64
        w = torch.randn(width, width, generator=generator).double() * s
        x = _apply(activation, x @ w)
        sd, mu = x.std().item(), x.mean().item()
        log_sd = math.log(sd) + log_scale if sd > 0 else -math.inf
        std.append(_exp(log_sd))
        mean.append(mu * _exp(log_scale))
        log10_std.append(log_sd / math.log(10))
        if homogeneous and sd > 0:
            x = x / sd
            log_scale += math.log(sd)
    return InitSim(init, activation, depth, width, batch, seed, s, std, log10_std, mean)


def _apply(activation: str, x: torch.Tensor) -> torch.Tensor:
    if activation == "tanh":
        return torch.tanh(x)
    if activation == "relu":
        return torch.relu(x)
    return x


def _exp(log_value: float) -> float:
    try:
        return math.exp(log_value)
    except OverflowError:
        return math.inf


def _validate(depth: int, width: int, init: str, activation: str, batch: int, divisor: float) -> None:
    if init not in INITS:
        raise CharloomError(f"--init must be one of {', '.join(INITS)}, got {init!r}")
    if activation not in ACTIVATIONS:
        raise CharloomError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    for name, value in (("depth", depth), ("width", width), ("batch", batch)):
        if value < 1:
            raise CharloomError(f"--{name} must be at least 1, got {value}")
    if batch * width < 2:
        raise CharloomError("--batch times --width must be at least 2 to measure a std")
    if not divisor > 0:
        raise CharloomError(f"--divisor must be above 0, got {divisor}")


def format_init_sim(result: InitSim, every: int | None = None) -> str:
    """A table of std per layer; long stacks show every ``every``-th layer and the last."""
    every = every or max(1, result.depth // 20)
    lines = [
        f"init {result.init} (weight std {result.weight_std:.4g}), activation {result.activation}, "
        f"width {result.width}, batch {result.batch}, seed {result.seed}",
        "layer         std     log10 std      mean",
    ]
    rows = zip(result.std, result.log10_std, result.mean, strict=True)
    for i, (sd, log_sd, mu) in enumerate(rows, start=1):
        if i % every == 0 or i in (1, result.depth):
            lines.append(f"{i:>5} {sd:>11.4g} {log_sd:>13.2f} {mu:>+9.3g}")
    return "\n".join(lines)
