"""Tiny models of every family, small enough that the whole folder runs in seconds."""

from __future__ import annotations

import pytest
import torch

from charloom.models.base import CharModel
from charloom.models.registry import FAMILIES, make_config

torch.set_num_threads(1)

VOCAB = 11

# Small configs that still exercise every code path: several layers, BatchNorm, learned
# initial states, dropout (off in eval), a transformer context shorter than the tests'
# sequences where that matters.
TINY: dict[str, dict] = {
    "ngram": {"n": 3},
    "bigram": {},
    "mlp": {"context": 3, "embedding": 4, "hidden": 16, "n_layer": 2, "batchnorm": True},
    "wavenet": {"context": 4, "embedding": 4, "hidden": 16},
    "rnn": {"n_layer": 2, "hidden": 16, "embedding": 8, "learned_init": True},
    "gru": {"n_layer": 2, "hidden": 16, "embedding": 8, "learned_init": True},
    "lstm": {"n_layer": 2, "hidden": 16, "embedding": 8, "learned_init": True},
    "transformer": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 8},
}


def build(family: str, vocab_size: int = VOCAB, seed: int = 0, **options) -> CharModel:
    """A tiny model of ``family``; the n-gram comes fitted on random data so that its
    logits are not all equal, and matrices that start at zero (learned initial states,
    the transformer's residual projections and head) start random, so that every path
    they feed is exercised."""
    torch.manual_seed(seed)
    model = FAMILIES[family](make_config(family, {**TINY[family], **options}), vocab_size)
    if family == "ngram":
        windows = torch.randint(0, vocab_size, (500, model.context_size))
        model.fit(windows, torch.randint(0, vocab_size, (500,)))
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2 and not param.any():
                param.normal_()
    return model


@pytest.fixture
def make():
    """The factory ``build(family, vocab_size=11, seed=0, **options)``."""
    return build
