"""The transformer's block and its options: the ingredients the NanoGPT speedrun (Jordan
et al., 2024) found train fastest, each switchable back to the lectures' GPT.

Each ingredient is an option, and the lectures' GPT is one setting of them
(``position="learned", norm="layernorm", qk_norm=False, activation="gelu", bias=True,
zero_init=False, logit_softcap=0``):

- ``position``: ``rotary`` turns queries and keys by their positions (Su et al., 2021;
  ``models/rotary.py``), so attention sees distances; ``learned`` adds a trained
  embedding of each absolute position to the input (GPT-2).
- ``norm``: ``layernorm``, (x - mean) / std * g (+ b with biases) (Ba et al., 2016), or
  ``rmsnorm``, x / rms(x) * g (Zhang and Sennrich, 2019), the speedrun's, which takes no
  mean off. The choice holds for QK-norm too. LayerNorm is the default: on a CPU its
  fused kernel runs about three times faster than RMSNorm's (``bench/block_ops.py``).
- ``qk_norm``: each head's queries and keys normalised (the block's norm, no gain)
  before they meet (Henry et al., 2020), which bounds the attention logits.
- ``activation``: ``relu2``, max(0, x)^2 (So et al., 2021, "Primer"); ``gelu``, GPT-2's.
- ``bias``: additive biases in every Linear and norm layer; off by default, as in PaLM
  and the speedrun.
- ``zero_init``: the two projections that write into the residual stream, and the head,
  start at zero (the speedrun's muP-like init): every block starts as the identity and
  the first loss is exactly ln(V). Off: GPT-2's N(0, 0.02), those projections scaled by
  1/sqrt(2 n_layer).
- ``logit_softcap``: c tanh(logits / c) (Gemma 2; the speedrun's 30, then 15); keeps a
  confident head from running away early. 0: off.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from charloom.models.attention import KV, Cache, CausalSelfAttention
from charloom.models.base import require
from charloom.models.layers import Dropout
from charloom.models.rotary import Rotary
from charloom.options import check_options, option

INIT_STD = 0.02  # GPT-2's init: small enough that the first softmax is near uniform
# The lectures' GPT (nanoGPT's and makemore's): every ingredient of the newer block off.
GPT2_BLOCK = {
    "position": "learned",
    "norm": "layernorm",
    "qk_norm": False,
    "activation": "gelu",
    "bias": True,
    "zero_init": False,
    "logit_softcap": 0.0,
}


@dataclass
class TransformerConfig:
    n_layer: int = option(4, help="number of transformer blocks", minimum=1)
    n_head: int = option(4, help="attention heads per block", minimum=1)
    n_embd: int = option(64, help="width of the residual stream", minimum=1)
    block_size: int = option(16, help="characters of context", minimum=1)
    dropout: float = option(0.2, help="dropout rate (0: none)", minimum=0, below=1)
    attention_dropout: float = option(
        0.0, help="dropout on the attention weights (0: none)", minimum=0, below=1
    )
    tie_weights: bool = option(False, help="share the token embedding with the output layer")
    bias: bool = option(False, help="biases in Linear and norm layers")
    position: str = option(
        "rotary", help="rotary (relative, turned queries and keys) or learned (GPT-2)",
        choices=("rotary", "learned"),
    )  # fmt: skip
    norm: str = option("layernorm", help="layernorm or rmsnorm", choices=("layernorm", "rmsnorm"))
    qk_norm: bool = option(True, help="normalise queries and keys per head (with the block's norm)")
    activation: str = option("relu2", help="the MLP's nonlinearity: relu2 or gelu", choices=("relu2", "gelu"))
    zero_init: bool = option(True, help="residual projections and head start at zero")
    logit_softcap: float = option(15.0, help="c tanh(logits / c) (0: off)", minimum=0)

    def __post_init__(self):
        check_options(self)
        require(
            self.n_embd % self.n_head == 0,
            f"--n-embd ({self.n_embd}) must be a multiple of --n-head ({self.n_head}), "
            "so that every head gets n_embd / n_head dimensions",
        )
        require(
            self.position != "rotary" or (self.n_embd // self.n_head) % 2 == 0,
            f"rotary positions turn pairs of dimensions: n_embd / n_head ({self.n_embd // self.n_head}) "
            "must be even",
        )


def make_norm(config: TransformerConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return RMSNorm(config.n_embd)
    return nn.LayerNorm(config.n_embd, bias=config.bias)


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * g: LayerNorm without the mean taken off or the
    shift added back (Zhang and Sennrich, 2019)."""

    diagnostics_kind = "norm"

    def __init__(self, n: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))  # g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


class ReLUSquared(nn.Module):
    """max(0, x)^2 (So et al., 2021): ReLU's sparsity with a smooth, growing slope."""

    diagnostics_kind = "relu"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReLUSquared.apply(x)


class _ReLUSquared(torch.autograd.Function):
    """y = r^2 with r = max(0, x), and dy/dx = 2 r: only r is kept for the backward pass,
    where autograd through relu then square would keep two tensors and take four
    elementwise passes (on a CPU, twice the time)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        r = F.relu(x)
        ctx.save_for_backward(r)
        return r * r

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (r,) = ctx.saved_tensors
        return torch.mul(r, 2).mul_(grad)


class MLP(nn.Module):
    """Position-wise feed-forward: where each position 'thinks' about what it gathered."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.act = ReLUSquared() if config.activation == "relu2" else nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))  # (B, T, C)


class Block(nn.Module):
    """Communicate (attention), then compute (MLP), each on a residual branch with a norm
    before it: the residual stream carries gradients straight to the input."""

    def __init__(self, config: TransformerConfig, rotary: Rotary | None):
        super().__init__()
        self.ln_1 = make_norm(config)
        self.attn = CausalSelfAttention(
            config.n_embd,
            config.n_head,
            config.dropout,
            config.attention_dropout,
            config.bias,
            qk_norm=config.qk_norm,
            rotary=rotary,
            norm=config.norm,
        )
        self.ln_2 = make_norm(config)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        past: Cache | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, KV]:
        a, kv = self.attn(self.ln_1(x), positions, past, mask)
        x = x + a  # (B, T, C)
        x = x + self.mlp(self.ln_2(x))  # (B, T, C)
        return x, kv
