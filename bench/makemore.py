"""makemore's transformer training loop, re-implemented as the baseline that charloom's
transformer is timed against in the same process (bench/run.py).

What makemore does, and so what this does: every name is a row of ``max_len + 1``
positions, ``[0, c1 .. cn, 0, 0 ...]`` in and ``[c1 .. cn, 0, -1, -1 ...]`` out, so a batch
is mostly padding (names average 6-7 characters in rows of 16); 32 rows a step; the GPT
written out (attention through a registered causal mask and ``masked_fill``, GELU in its
tanh form from Python ops); AdamW at lr 5e-4, weight decay 0.01, betas (0.9, 0.99). Batches
are indexed straight from tensors, without makemore's DataLoader, which could only slow it.
Real tokens are the targets that are not padding, as charloom counts them.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

BATCH = 32


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, block_size: int):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        causal = torch.tril(torch.ones(block_size, block_size))
        self.register_buffer("bias", causal.view(1, 1, block_size, block_size))
        self.n_head, self.n_embd = n_head, n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, block_size: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(
            dict(c_fc=nn.Linear(n_embd, 4 * n_embd), c_proj=nn.Linear(4 * n_embd, n_embd), act=NewGELU())
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        m = self.mlp
        return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))


class Transformer(nn.Module):
    def __init__(self, vocab_size: int, block_size: int, n_layer: int = 4, n_head: int = 4, n_embd: int = 64):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(0, t, dtype=torch.long).unsqueeze(0))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def padded_rows(names: list[str]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """makemore's dataset: (N, max_len + 1) inputs and targets, and the vocabulary size."""
    chars = sorted(set("".join(names)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    width = max(len(n) for n in names) + 1
    x = torch.zeros(len(names), width, dtype=torch.long)
    y = torch.full((len(names), width), -1, dtype=torch.long)
    for i, name in enumerate(names):
        ids = torch.tensor([stoi[c] for c in name], dtype=torch.long)
        x[i, 1 : 1 + len(ids)] = ids
        y[i, : len(ids)] = ids
        y[i, len(ids)] = 0
    return x, y, len(chars) + 1


def tokens_per_second(names: list[str], seconds: float, seed: int = 0) -> tuple[float, int, int]:
    """Train makemore's default transformer for ``seconds``; real tokens per second of the
    steps (after a few warm-up steps), its parameter count and the steps taken."""
    torch.manual_seed(seed)
    x, y, vocab_size = padded_rows(names)
    model = Transformer(vocab_size, x.shape[1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)

    def step() -> int:
        rows = torch.randint(len(x), (BATCH,))
        logits = model(x[rows])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y[rows].view(-1), ignore_index=-1)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return int((y[rows] != -1).sum())

    for _ in range(5):
        step()
    tokens, steps, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        tokens += step()
        steps += 1
    return tokens / (time.perf_counter() - start), sum(p.numel() for p in model.parameters()), steps
