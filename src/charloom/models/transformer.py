"""A GPT: decoder-only transformer (Radford et al., 2018), as in nanoGPT and makemore,
with the block the NanoGPT speedrun (Jordan et al., 2024) found trains fastest.

    x = W_tok[w_t]  (+ W_pos[t] with learned positions)
    x = x + Attention(Norm(x))                      each block, pre-norm, n_layer times
    x = x + W_2 act(W_1 Norm(x))                    the MLP: C -> 4C -> C
    logits = c tanh(W_head Norm(x) / c)             soft-capped at +-c (c = logit_softcap)

    Attention(x) = softmax(Q K^T / sqrt(hs) + causal mask) V, per head (models/attention.py)

The block's ingredients, each an option, are in ``transformer_block.py``.

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
from typing import ClassVar

import torch
from torch import nn

from charloom.data.batches import Layout
from charloom.models.attention import KV, Cache
from charloom.models.base import CharModel, State, UnitGroups, along_time
from charloom.models.layers import Dropout
from charloom.models.rotary import Rotary
from charloom.models.transformer_block import (
    GPT2_BLOCK,
    INIT_STD,
    Block,
    TransformerConfig,
    make_norm,
)


class Transformer(CharModel):
    family = "transformer"
    config_class = TransformerConfig
    training_layout = Layout.PACKED  # several names per row: see data/packing.py
    adamw_only = ("wte", "wpe", "head")
    # Packed rows make a step's cost follow its real tokens, and large steps amortise the
    # fixed cost of many small ops (docs/tuning.md).
    train_defaults = {"batch_size": 256, "lr": 5e-3}
    # Running text: chosen by measurement on the Shakespeare file, tinyshakespeare and
    # python-stdlib (docs/tuning.md).
    text_defaults = {
        "model": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 256, "dropout": 0.0},
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

    @classmethod
    def table_count(cls, config: TransformerConfig, vocab_size: int) -> int:
        """Rotary positions' rotations: block_size matrices of hs x hs, built in float64
        and kept in float32 (three float32 numbers each)."""
        hs = config.n_embd // config.n_head
        return 3 * config.block_size * hs * hs if config.position == "rotary" else 0

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

    def forward_sequence(self, idx: torch.Tensor) -> torch.Tensor:
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
        ``block_size - 1`` tokens (for re-encoding when full). ``forward_from`` fills the cache in
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

    def forward_from(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """idx (B, T) read on from the cache one token at a time -> (B, T, V)."""
        outputs = []
        for t in range(idx.shape[1]):
            logits, state = self._step(idx[:, t], state)
            outputs.append(logits)
        return along_time(outputs), state

    def _step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
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
                if pos < self.config.block_size:  # a full cache is not read again (_step)
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
