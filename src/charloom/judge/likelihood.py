"""The likelihood-ratio judge: a posterior over categories from each generator's
log-likelihood of the string, with a uniform prior (Bayes' rule):

    log p(x | c) = sum_t log softmax(f_c(x_<t))[x_t]      boundary at both ends counted
    p(c | x)     = exp(log p(x | c)) / sum_c' exp(log p(x | c'))

A string with a character that generator c never saw has p(x | c) = 0.
"""

from __future__ import annotations

import math

import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.models.base import CharModel
from charloom.models.likelihood import token_logprobs


def log_likelihood(model: CharModel, vocab: Vocab, texts: list[str], condition: str = "") -> torch.Tensor:
    """log p(text) under a line-mode model, in nats, one per text: float64[N]; -inf where
    the text has a character outside ``vocab``. ``condition`` is context read before each
    text and not scored: log p(text | condition) (a conditional run's category token).

    >>> log_likelihood(run.model, run.vocab, ["emma"])   # doctest: +SKIP
    tensor([-7.21], dtype=torch.float64)
    """
    out = torch.full((len(texts),), -math.inf, dtype=torch.float64)
    known = [i for i, t in enumerate(texts) if not vocab.unknown_chars(t)]
    framed = [[BOUNDARY_ID, *vocab.encode(condition + texts[i]), BOUNDARY_ID] for i in known]
    skip = len(condition)  # the condition's own tokens are context, not scored
    for i, logp in zip(known, token_logprobs(model, framed), strict=True):
        out[i] = logp[skip:].double().sum()
    return out


def posterior(log_likelihoods: torch.Tensor) -> torch.Tensor:
    """p(c | x) from log p(x | c)[N, K] under a uniform prior; a row that every category
    finds impossible gets the uniform posterior."""
    impossible = torch.isinf(log_likelihoods).all(dim=1, keepdim=True)
    safe = torch.where(impossible, torch.zeros_like(log_likelihoods), log_likelihoods)
    return torch.softmax(safe, dim=1)


class LikelihoodJudge:
    """Scores strings with a set of per-category generators (``{category: Run}``)."""

    def __init__(self, runs: dict):
        self.runs = runs
        self.categories = list(runs)

    def log_likelihoods(self, texts: list[str]) -> torch.Tensor:
        """log p(x | c): float64[N, K], columns in ``self.categories`` order."""
        columns = [
            log_likelihood(run.model, run.vocab, texts, getattr(run, "condition", ""))
            for run in self.runs.values()
        ]
        return torch.stack(columns, dim=1) if columns else torch.zeros(len(texts), 0)

    def posterior(self, texts: list[str]) -> torch.Tensor:
        return posterior(self.log_likelihoods(texts))


__all__ = ["LikelihoodJudge", "log_likelihood", "posterior"]
