"""Causal multi-head self-attention, the transformer's one way of mixing positions:

    Attention(x) = softmax(Q K^T / sqrt(hs) + causal mask) V, per head, heads concatenated

Two options change what Q and K are before they meet:

- QK-norm (Henry et al., 2020; Dehghani et al., 2023, at scale): each head's query and
  key divided by their root mean square, q / rms(q), so that q . k / sqrt(hs) stays
  within sqrt(hs) whatever the weights grow to. Attention logits cannot run away, which
  is what lets the speedrun's (and Muon's) high learning rates train stably.
- Rotary positions (``models/rotary.py``): q and k turned by their positions, so that
  their product depends on the distance between them.

Three paths compute the same thing: SDPA's fused kernel on whole sequences; the two
products written out under an additive mask (packed rows, and bfloat16 on the CPU); and
one query against a key/value cache during generation.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from charloom.models.layers import Dropout
from charloom.models.rotary import Rotary

KV = tuple[torch.Tensor, torch.Tensor]  # one layer's keys and values


class Cache(NamedTuple):
    """One layer's key/value cache during generation: room for ``block_size`` positions,
    (block_size, B, nh, hs) each, of which positions < ``pos`` are filled.

    Position-major, so each position's rows are one contiguous block: attention reads
    the filled part ``k[:pos]`` in long contiguous runs rather than one short run per row,
    and dropping finished rows moves the filled positions only."""

    k: torch.Tensor
    v: torch.Tensor
    pos: int


def causal_mask(T: int, device: torch.device) -> torch.Tensor:
    """(T, T) additive mask: 0 where position t may attend to position s <= t, -inf after."""
    return torch.full((T, T), -math.inf, device=device).triu(1)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position sees itself and the past only."""

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        dropout: float,
        attention_dropout: float,
        bias: bool,
        qk_norm: bool = False,
        rotary: Rotary | None = None,
        norm: str = "layernorm",
    ):
        super().__init__()
        self.n_head = n_head
        self.head_shape = (n_embd // n_head,)  # a constant: an exported graph then needs no shape op
        self.qk_norm = qk_norm
        self.norm = F.rms_norm if norm == "rmsnorm" else F.layer_norm  # of queries and keys
        self.rotary = rotary
        # Off by default: on whole sequences (running text) dropout on the attention weights
        # takes SDPA off its fused path and doubles attention's forward + backward time,
        # and on names dropout on the residual branches and embeddings alone did better.
        self.att_dropout = Dropout(attention_dropout)  # its rate also goes to SDPA
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # q, k, v
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        past: Cache | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, KV]:
        """x: (B, T, C) at ``positions`` ((T,), or (B, T) for packed rows). Without
        ``past``: the whole sequence at once, causally masked, or by ``mask`` (B, 1, T, T),
        0 where a position may attend and -inf where not, when rows hold several items.
        With ``past`` (this layer's cache, which holds positions < ``past.pos``): one new
        position (T = 1), written into the cache in place, which attends to every cached
        key, so no mask is needed. Returns y (B, T, C) and the keys and values (keys as
        attention reads them: normalised and turned)."""
        B, T, C = x.shape
        if past is not None:
            return self._attend_cached(x, positions, past)
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, C // self.n_head)
        qkv = qkv.permute(2, 0, 3, 1, 4).contiguous()  # (3, B, nh, T, hs), one copy
        q, k = self._place(qkv[:2], positions).unbind(0)  # (B, nh, T, hs) each
        v = qkv[2]
        if mask is None and q.dtype == torch.bfloat16 and q.device.type == "cpu":
            # SDPA's CPU kernel is several times slower backward in bfloat16 than these two
            # products, which AMX multiplies natively (docs/tuning.md).
            mask = causal_mask(T, q.device)
        if mask is not None:
            y = self._attend_masked(q, k, v, mask)
        else:
            dropout = self.att_dropout.p if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y)), (k, v)

    def _place(self, qk: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Queries and keys stacked (2, ..., T, hs), as attention compares them: each
        normalised over its hs dimensions with QK-norm (the block's kind of norm, with no
        gain), then turned by its position with rotary positions. Both in one call each."""
        if self.qk_norm:
            qk = self.norm(qk, self.head_shape)
        if self.rotary is not None:
            qk = self.rotary(qk, positions)
        return qk

    def _attend_masked(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Attention under an additive mask (packed rows, or the causal mask under CPU
        bfloat16), written out:

            att = softmax(q k^T / sqrt(hs) + mask)     mask: 0 where allowed, -inf elsewhere
            y   = att v

        At a row of 32 positions these two batched products and a softmax beat SDPA's CPU
        kernel given a mask (docs/tuning.md). q, k, v: (R, nh, T, hs) -> (R, nh, T, hs)."""
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (R, nh, T, T)
        att = (att + mask).softmax(dim=-1)
        return self.att_dropout(att) @ v

    def _attend_cached(
        self, x: torch.Tensor, positions: torch.Tensor, past: Cache
    ) -> tuple[torch.Tensor, KV]:
        """One query per row against the cache, written out (generation's hot path):

            att[t, b, h] = softmax_t(q[b, h] . k[t, b, h] / sqrt(hs))
            y[b, h]      = sum_t att[t, b, h] v[t, b, h]

        A single query needs no mask, and at this size the two products are cheaper as
        broadcast multiply-and-sum than as thousands of tiny batched matmuls."""
        B, _, C = x.shape
        hs = C // self.n_head
        qkv = self.c_attn(x).view(B, 3, self.n_head, 1, hs).transpose(0, 1)  # (3, B, nh, 1, hs)
        q, k = self._place(qkv[:2], positions)[:, :, :, 0].unbind(0)  # (B, nh, hs) each
        v = qkv[2, :, :, 0]
        past.k[past.pos] = k
        past.v[past.pos] = v
        keys = past.k[: past.pos + 1]  # (t, B, nh, hs)
        values = past.v[: past.pos + 1]  # (t, B, nh, hs)
        att = (keys * q).sum(dim=-1) * (1.0 / math.sqrt(hs))  # (t, B, nh)
        att = att.softmax(dim=0)
        y = (att[..., None] * values).sum(dim=0)  # (B, nh, hs)
        return self.resid_dropout(self.c_proj(y.reshape(B, 1, C))), (past.k, past.v)
