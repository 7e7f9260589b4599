"""A GPT: decoder-only transformer (Radford et al., 2018), as in nanoGPT and makemore.

    x = W_tok[w_t] + W_pos[t]                      token + learned position embeddings
    x = x + Attention(LayerNorm(x))                each block, pre-LayerNorm, n_layer times
    x = x + MLP(LayerNorm(x))                      MLP: Linear(C, 4C) -> GELU -> Linear(4C, C)
    logits = W_head LayerNorm(x)

    Attention(x) = softmax(Q K^T / sqrt(hs) + causal mask) V, per head, heads concatenated

The context is ``block_size`` characters. Generation keeps a key/value cache: each new
character computes its own query, key and value once and attends to the cached keys.
Positions are learned absolute embeddings, so once the cache holds ``block_size``
characters it cannot be shifted (every cached key was computed at its old position);
from then on each step re-encodes the last ``block_size`` characters, which is exactly
what ``forward`` on that window computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from charloom.data.batches import Layout
from charloom.data.packing import Packed
from charloom.models.attention import KV, Cache, CausalSelfAttention
from charloom.models.base import CharModel, State, UnitGroups, require, require_at_least_one
from charloom.models.layers import Dropout

INIT_STD = 0.02  # GPT-2's init: small enough that the first softmax is near uniform


@dataclass
class TransformerConfig:
    n_layer: int = field(default=4, metadata={"help": "number of transformer blocks"})
    n_head: int = field(default=4, metadata={"help": "attention heads per block"})
    n_embd: int = field(default=64, metadata={"help": "width of the residual stream"})
    block_size: int = field(default=16, metadata={"help": "characters of context"})
    # makemore uses none; on 23k names this model overfits within minutes without it
    # (docs/tuning.md).
    dropout: float = field(default=0.2, metadata={"help": "dropout rate (0: none)"})
    attention_dropout: float = field(
        default=0.0, metadata={"help": "dropout on the attention weights (0: none)"}
    )
    tie_weights: bool = field(
        default=False, metadata={"help": "share the token embedding with the output layer"}
    )
    bias: bool = field(default=True, metadata={"help": "biases in Linear and LayerNorm layers"})

    def __post_init__(self):
        require_at_least_one(self, "n_layer", "n_head", "n_embd", "block_size")
        require(
            self.n_embd % self.n_head == 0,
            f"--n-embd ({self.n_embd}) must be a multiple of --n-head ({self.n_head}), "
            "so that every head gets n_embd / n_head dimensions",
        )
        require(0 <= self.dropout < 1, f"--dropout must be in [0, 1), got {self.dropout}")
        require(
            0 <= self.attention_dropout < 1,
            f"--attention-dropout must be in [0, 1), got {self.attention_dropout}",
        )


class MLP(nn.Module):
    """Position-wise feed-forward: where each position 'thinks' about what it gathered."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, C)


class Block(nn.Module):
    """Communicate (attention), then compute (MLP), each on a residual branch with
    LayerNorm before it: the residual stream carries gradients straight to the input."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(
            config.n_embd, config.n_head, config.dropout, config.attention_dropout, config.bias
        )
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, past: Cache | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, KV]:
        a, kv = self.attn(self.ln_1(x), past, mask)
        x = x + a  # (B, T, C)
        x = x + self.mlp(self.ln_2(x))  # (B, T, C)
        return x, kv


class Transformer(CharModel):
    family = "transformer"
    config_class = TransformerConfig
    training_layout = Layout.PACKED  # several names per row: see data/packing.py
    # Packed rows make a step's cost follow its real tokens, and large steps amortise the
    # fixed cost of many small ops (docs/tuning.md).
    train_defaults = {"batch_size": 256, "lr": 5e-3}
    # Running text: chosen by measurement on the Shakespeare file (docs/tuning.md).
    text_defaults = {
        "model": {"n_layer": 4, "n_embd": 192, "block_size": 64, "dropout": 0.1},
        "train": {"batch_size": 64, "lr": 3e-3, "dtype": "auto"},
    }

    def __init__(self, config: TransformerConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        self.wte = nn.Embedding(vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.head = nn.Linear(config.n_embd, vocab_size, bias=False)
        self.apply(self._init_weights)
        # Scaled residual init (GPT-2): each block adds two branches to the residual stream,
        # so its variance would grow with depth; shrinking the projections that write into
        # it by 1/sqrt(2 * n_layer) keeps it about constant.
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(param, 0.0, INIT_STD / math.sqrt(2 * config.n_layer))
        if config.tie_weights:
            # One matrix both to read characters and to score them (Press & Wolf, 2017).
            self.head.weight = self.wte.weight

    @classmethod
    def parameter_count(cls, config: TransformerConfig, vocab_size: int) -> int:
        """V C + T C (token and position embeddings) + per block 12 C^2 (q, k, v and the
        attention's projection; the MLP's C x 4C and 4C x C) + 2C (two LayerNorm gains) +
        11 C of biases + C (+ C) for the last LayerNorm + C V for the head unless tied."""
        C, V, L = config.n_embd, vocab_size, config.n_layer
        block = 12 * C * C + 2 * C + (11 * C if config.bias else 0)
        final = 2 * C if config.bias else C
        head = 0 if config.tie_weights else C * V
        return V * C + config.block_size * C + L * block + final + head

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
        pos = torch.arange(start, start + T, device=idx.device)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        kvs = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if pasts is None else Cache(*pasts[i], start))
            kvs.append(kv)
        return self.head(self.ln_f(x)), kvs  # (B, T, V)

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
        x = self.drop(self.wte(idx) + self.wpe(positions))  # (R, T, C)
        for block in self.blocks:
            x, _ = block(x, mask=mask)
        return self.head(self.ln_f(x))  # (R, T, V)

    def training_logits(self, inputs: Packed | torch.Tensor) -> torch.Tensor:
        if isinstance(inputs, Packed):
            return self.forward_packed(*inputs)  # (R, T, V)
        return self(inputs)  # (B, T, V)

    def unit_groups(self) -> UnitGroups:
        """Outputs of each block (the residual stream), of its attention, of its MLP, and
        the MLP's GELU units."""
        blocks = list(self.blocks)
        return UnitGroups(
            hooked={
                "residual": blocks,
                "attn": [b.attn.c_proj for b in blocks],
                "mlp": [b.mlp for b in blocks],
                "mlp_hidden": [b.mlp.gelu for b in blocks],
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
