"""Count-based n-gram model with add-k smoothing.

    P(c | context) = (count(context, c) + k) / (count(context) + k * V)

Fitted in one counting pass; no optimiser. Contexts are stored sparsely (only those
seen in training, each as a row of V counts, looked up by binary search on an integer
key), so any n works without a V^n table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from charloom.models.base import WindowModel, require
from charloom.options import check_options, option


@dataclass
class NGramConfig:
    n: int = option(2, help="order: predict from the previous n-1 characters", minimum=1)
    smoothing: float = option(1.0, help="add-k smoothing constant k (>= 0)", minimum=0)

    def __post_init__(self):
        check_options(self)


class NGram(WindowModel):
    family = "ngram"
    config_class = NGramConfig
    fitted_by_counting = True

    def __init__(self, config: NGramConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        require(
            max(config.n - 1, 1) * math.log2(max(vocab_size, 2)) < 62,  # keys fit in 64 bits
            f"an n-gram of order {config.n} over {vocab_size} symbols is too large to index",
        )
        self.register_buffer("context_keys", torch.zeros(0, dtype=torch.long))
        self.register_buffer("counts", torch.zeros(0, vocab_size))

    @property
    def context_size(self) -> int:
        return max(self.config.n - 1, 1)

    @classmethod
    def parameter_count(cls, config: NGramConfig, vocab_size: int) -> int:
        return 0  # counted, not trained: the table grows with the data, one row per context seen

    def _keys(self, windows: torch.Tensor) -> torch.Tensor:
        """Encode the last n-1 tokens of each window as one integer (base V)."""
        order = self.config.n - 1
        if order == 0:
            return torch.zeros(windows.shape[0], dtype=torch.long, device=windows.device)
        ctx = windows[:, -order:]
        powers = self.vocab_size ** torch.arange(order - 1, -1, -1, device=windows.device)
        return (ctx * powers).sum(dim=1)

    @torch.no_grad()
    def fit(self, windows: torch.Tensor, targets: torch.Tensor) -> NGram:
        """Count every (context, next token) pair: windows[N, C], targets[N]."""
        keys = self._keys(windows)
        unique_keys, row = torch.unique(keys, return_inverse=True)  # sorted
        counts = torch.zeros(len(unique_keys), self.vocab_size)
        counts.index_put_((row, targets), torch.ones(len(targets)), accumulate=True)
        self.context_keys = unique_keys
        self.counts = counts
        return self

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        k = self.config.smoothing
        V = self.vocab_size
        keys = self._keys(windows)
        rows = torch.zeros(len(keys), V, device=windows.device)
        if len(self.context_keys):
            pos = torch.searchsorted(self.context_keys, keys).clamp(max=len(self.context_keys) - 1)
            found = self.context_keys[pos] == keys
            rows[found] = self.counts[pos[found]]
        smoothed = rows + k
        totals = smoothed.sum(dim=1, keepdim=True)
        # A context never seen with k = 0 has no counts at all: fall back to uniform.
        uniform = torch.full_like(rows, 1 / V)
        probs = torch.where(totals > 0, smoothed / totals.clamp(min=1e-30), uniform)
        return torch.log(probs.clamp(min=1e-30))  # logits = log-probabilities
