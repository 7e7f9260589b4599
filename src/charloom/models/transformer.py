"""A GPT: decoder-only transformer (Radford et al., 2018), as in nanoGPT and makemore,
with the block the NanoGPT speedrun (Jordan et al., 2024) found trains fastest.

    x = W_tok[w_t]  (+ W_pos[t] with learned positions)
    x = x + Attention(Norm(x))                      each block, pre-norm, n_layer times
    x = x + W_2 act(W_1 Norm(x))                    the MLP: C -> 4C -> C
    logits = c tanh(W_head Norm(x) / c)             soft-capped at +-c (c = logit_softcap)

    Attention(x) = softmax(Q K^T / sqrt(hs) + causal mask) V, per head (models/attention.py)

Each ingredient is an option, and the lectures' GPT is one setting of them
(``position="learned", norm="layernorm", qk_norm=False, activation="gelu", bias=True,
zero_init=False, logit_softcap=0``):

- ``position``: ``rotary`` turns queries and keys by their positions (Su et al., 2021;
  ``models/rotary.py``), so attention sees distances; ``learned`` adds a trained
  embedding of each absolute position to the input (GPT-2).
- ``norm``: ``layernorm``, (x - mean) / std * g (+ b with biases) (Ba et al., 2016), or
  ``rmsnorm``, x / rms(x) * g (Zhang and Sennrich, 2019), the speedrun's, which takes no
  mean off. The choice holds for QK-norm too. LayerNorm is the default: on a CPU its
  fused kernel runs several times faster than RMSNorm's, for the same loss
  (docs/tuning.md).
- ``qk_norm``: queries and keys RMS-normalised per head before they meet (Henry et al.,
  2020), which bounds the attention logits.
- ``activation``: ``relu2``, max(0, x)^2 (So et al., 2021, "Primer"); ``gelu``, GPT-2's.
- ``bias``: additive biases in every Linear and norm layer; off, as in PaLM and the
  speedrun, they cost steps and buy nothing measurable here.
- ``zero_init``: the two projections that write into the residual stream, and the head,
  start at zero (the speedrun's muP-like init): every block starts as the identity and
  the first loss is exactly ln(V). Off: GPT-2's N(0, 0.02), those projections scaled by
  1/sqrt(2 n_layer).
- ``logit_softcap``: c tanh(logits / c) (Gemma 2; the speedrun's 30, then 15); keeps a
  confident head from running away early. 0: off.

The context is ``block_size`` characters. Generation keeps a key/value cache: each new
character computes its own query, key and value once and attends to the cached keys.
Once the cache holds ``block_size`` characters each step re-encodes the last
``block_size`` characters from position 0, which is exactly what ``forward`` on that
window computes (whatever the position scheme: with rotary positions the cached keys'
angles would still fit, but the deeper layers' keys were computed from a context that
has since left the window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from charloom.data.batches import Layout
from charloom.data.packing import Packed
from charloom.models.attention import KV, Cache, CausalSelfAttention
from charloom.models.base import CharModel, State, UnitGroups, require
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
    qk_norm: bool = option(True, help="RMS-normalise queries and keys per head")
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


class Transformer(CharModel):
    family = "transformer"
    config_class = TransformerConfig
    training_layout = Layout.PACKED  # several names per row: see data/packing.py
    adamw_only = ("wte", "wpe", "head")
    # Packed rows make a step's cost follow its real tokens, and large steps amortise the
    # fixed cost of many small ops (docs/tuning.md).
    train_defaults = {"batch_size": 256, "lr": 5e-3}
    # Running text: chosen by measurement on the Shakespeare file (docs/tuning.md).
    text_defaults = {
        "model": {"n_layer": 4, "n_embd": 128, "block_size": 256, "dropout": 0.0},
        "train": {"batch_size": 16, "optimizer": "muon", "lr": 3e-3, "weight_decay": 0.1, "dtype": "auto"},
    }
    # What run.json files written before these options existed describe (``bias`` was
    # always saved): the GPT-2 block.
    config_before: ClassVar[dict] = {k: v for k, v in GPT2_BLOCK.items() if k != "bias"}

    def __init__(self, config: TransformerConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        head_size = config.n_embd // config.n_head
        rotary = Rotary(head_size, config.block_size) if config.position == "rotary" else None
        self.wte = nn.Embedding(vocab_size, config.n_embd)
        if config.position == "learned":
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, rotary) for _ in range(config.n_layer))
        self.ln_f = make_norm(config)
        self.head = nn.Linear(config.n_embd, vocab_size, bias=False)
        self.apply(self._init_weights)
        # The projections that write into the residual stream: zero, so that each block
        # starts as the identity; else GPT-2's scaled init (each block adds two branches to
        # the stream, so its variance would grow with depth; shrinking them by
        # 1/sqrt(2 * n_layer) keeps it about constant).
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):
                if config.zero_init:
                    nn.init.zeros_(param)
                else:
                    nn.init.normal_(param, 0.0, INIT_STD / math.sqrt(2 * config.n_layer))
        if config.zero_init:
            nn.init.zeros_(self.head.weight)  # uniform first prediction: the loss starts at ln V
        if config.tie_weights:
            # One matrix both to read characters and to score them (Press & Wolf, 2017).
            self.head.weight = self.wte.weight

    @classmethod
    def parameter_count(cls, config: TransformerConfig, vocab_size: int) -> int:
        """V C (token embeddings) + T C (learned positions only) + per block 12 C^2 (q, k, v
        and the attention's projection; the MLP's C x 4C and 4C x C) + two norms + 9 C of
        Linear biases + a last norm + C V for the head unless tied. A norm holds C gains,
        and C shifts more for a LayerNorm with biases."""
        C, V, L = config.n_embd, vocab_size, config.n_layer
        norm = 2 * C if config.norm == "layernorm" and config.bias else C
        block = 12 * C * C + 2 * norm + (9 * C if config.bias else 0)
        head = 0 if config.tie_weights else C * V
        positions = config.block_size * C if config.position == "learned" else 0
        return V * C + positions + L * block + norm + head

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def context_size(self) -> int:
        return self.config.block_size

    def _run(self, idx: torch.Tensor, start: int, pasts: list[KV] | None) -> tuple[torch.Tensor, list[KV]]:
        """idx (B, T) at positions start .. start + T - 1 -> logits (B, T, V) and the
        keys and values of every layer."""
        T = idx.shape[1]
        positions = torch.arange(start, start + T, device=idx.device)  # (T,)
        x = self.drop(self._embed(idx, positions))  # (B, T, C)
        kvs = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, positions, None if pasts is None else Cache(*pasts[i], start))
            kvs.append(kv)
        return self._logits(x), kvs  # (B, T, V)

    def _embed(self, idx: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx)  # (B, T, C)
        return x + self.wpe(positions) if self.config.position == "learned" else x

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """The head on the last norm, soft-capped: c tanh(z / c) (B, T, V)."""
        logits = self.head(self.ln_f(x))
        cap = self.config.logit_softcap
        return cap * torch.tanh(logits / cap) if cap else logits

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.shape[1] > self.config.block_size:
            raise ValueError(
                f"the transformer sees at most {self.config.block_size} tokens, got {idx.shape[1]}"
            )
        logits, _ = self._run(idx, 0, None)
        return logits  # (B, T, V)

    def forward_packed(
        self, idx: torch.Tensor, positions: torch.Tensor, segments: torch.Tensor
    ) -> torch.Tensor:
        """Rows holding several items (``data.packing``): idx, positions, segments (R, T)
        -> logits (R, T, V). Positions restart at every item and each position attends to
        earlier positions of its own item only (a block-diagonal causal mask), so every
        item's logits are those ``forward`` computes on that item alone."""
        T = idx.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()  # (T, T)
        same_item = segments[:, :, None] == segments[:, None, :]  # (R, T, T)
        allowed = (same_item & causal)[:, None]  # (R, 1, T, T), shared by the heads
        mask = torch.zeros(allowed.shape, device=idx.device).masked_fill_(~allowed, -math.inf)
        x = self.drop(self._embed(idx, positions))  # (R, T, C)
        for block in self.blocks:
            x, _ = block(x, positions, mask=mask)
        return self._logits(x)  # (R, T, V)

    def training_logits(self, inputs: Packed | torch.Tensor) -> torch.Tensor:
        if isinstance(inputs, Packed):
            return self.forward_packed(*inputs)  # (R, T, V)
        return self(inputs)  # (B, T, V)

    def unit_groups(self) -> UnitGroups:
        """Outputs of each block (the residual stream), of its attention, of its MLP, and
        the MLP's hidden units (after its nonlinearity)."""
        blocks = list(self.blocks)
        return UnitGroups(
            hooked={
                "residual": blocks,
                "attn": [b.attn.c_proj for b in blocks],
                "mlp": [b.mlp for b in blocks],
                "mlp_hidden": [b.mlp.act for b in blocks],
            }
        )

    def init_state(self, batch_size: int) -> State:
        """An empty cache: per layer room for the keys and values of ``block_size``
        positions (block_size, B, nh, hs), the position of the next token, and the last
        ``block_size - 1`` tokens (for re-encoding when full). ``step`` fills the cache in
        place: to branch one state into several, ``select_state`` (which copies) first."""
        c = self.config
        shape = (c.block_size, batch_size, c.n_head, c.n_embd // c.n_head)
        # empty, not zeros: positions >= pos are never read, and zeroing costs a pass over memory
        kv = [
            (torch.empty(shape, device=self.device), torch.empty(shape, device=self.device))
            for _ in self.blocks
        ]
        history = torch.zeros(batch_size, 0, dtype=torch.long, device=self.device)
        return {"kv": kv, "pos": 0, "history": history}

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        block_size = self.config.block_size
        pos, history, kv = state["pos"], state["history"], state["kv"]
        if pos < block_size:
            logits, kv = self._run(tokens[:, None], pos, kv)  # (B, 1, V)
        else:
            # Cache full: slide the window, re-encode it from position 0 (the cache is not
            # read again once full, so it is left as it is).
            window = torch.cat([history, tokens[:, None]], dim=1)  # (B, block_size)
            logits, _ = self._run(window, 0, None)  # (B, block_size, V)
        keep = block_size - 1
        history = torch.cat([history, tokens[:, None]], dim=1)
        history = history[:, max(history.shape[1] - keep, 0) :]  # (B, <= block_size - 1)
        state = {"kv": kv, "pos": min(pos + 1, block_size), "history": history}
        return logits[:, -1], state

    def compact_state(self, state: State, keep: torch.Tensor) -> State:
        """Drop finished rows in place: row i of every cached position takes row keep[i]
        (keep ascending) and the cache becomes a view of its first len(keep) rows.

        Copying the kept rows into a new cache, as ``select_state`` does, allocates
        block_size x B x n_embd floats per tensor, which for thousands of rows the allocator
        maps fresh from the kernel each time, and the page faults on it cost far more than
        the copy. Here only the filled positions move, through a temporary of their size."""
        pos, keep = state["pos"], keep.to(self.device)
        kv = []
        for cached in state["kv"]:
            pair = []
            for tensor in cached:  # (block_size, B, nh, hs), possibly rows of a larger cache
                if pos < self.config.block_size:  # a full cache is not read again (step)
                    tensor[:pos, : len(keep)] = tensor[:pos].index_select(1, keep)
                pair.append(tensor[:, : len(keep)])
            kv.append(tuple(pair))
        return {"kv": kv, "pos": pos, "history": state["history"].index_select(0, keep)}

    def select_state(self, state: State, index: torch.Tensor) -> State:
        """Keep the rows named by ``index``, copying the filled cache positions only."""
        pos, index = state["pos"], index.to(self.device)
        kv = []
        for cached in state["kv"]:
            pair = []
            for tensor in cached:  # keys, then values: (block_size, B, nh, hs)
                kept = tensor.new_empty((tensor.shape[0], len(index), *tensor.shape[2:]))
                torch.index_select(tensor[:pos], 1, index, out=kept[:pos])  # no temporary
                pair.append(kept)
            kv.append(tuple(pair))
        return {"kv": kv, "pos": pos, "history": state["history"].index_select(0, index)}
