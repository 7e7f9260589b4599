"""The model interface, checked the same way for every family in the registry."""

from __future__ import annotations

import json
import math

import pytest
import torch

from charloom.errors import CharloomError
from charloom.models.base import config_to_dict
from charloom.models.likelihood import nll
from charloom.models.registry import FAMILIES, make_config

ALL = sorted(FAMILIES)
GRADIENT_TRAINED = [f for f in ALL if not FAMILIES[f].fitted_by_counting]
V = 11


def test_registry_holds_every_family():
    assert set(FAMILIES) == {
        "ngram", "bigram", "mlp", "wavenet", "rnn", "gru", "lstm", "transformer"
    }  # fmt: skip
    for name, cls in FAMILIES.items():
        assert cls.family == name


@pytest.mark.parametrize("family", ALL)
def test_step_by_step_equals_forward(make, family):
    model = make(family).eval()
    idx = torch.randint(0, V, (3, 8))  # (B, T); T = the tiny transformer's block_size
    with torch.no_grad():
        full, _ = model(idx)  # (B, T, V)
        state = model.init_state(3)
        for t in range(idx.shape[1]):
            logits, state = model(idx[:, t : t + 1], state)  # (B, 1, V)
            torch.testing.assert_close(logits[:, 0], full[:, t], atol=1e-5, rtol=1e-5)
        from_state, _ = model(idx, model.init_state(3))  # a whole window read on from a state
        torch.testing.assert_close(from_state, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ALL)
def test_forward_is_causal(make, family):
    """Position t must not see tokens after t: change the future, the past stays put."""
    model = make(family).eval()
    idx = torch.randint(0, V, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % V
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0][:, :5], model(changed)[0][:, :5])


@pytest.mark.parametrize("family", ALL)
def test_select_rows_keeps_the_right_rows(make, family):
    """Step a batch, keep rows [2, 0], step on: the same as stepping those rows alone."""
    options = {"block_size": 4} if family == "transformer" else {}  # overflow the cache too
    model = make(family, **options).eval()
    idx = torch.randint(0, V, (4, 6))
    keep = torch.tensor([2, 0])
    with torch.no_grad():
        state = model.init_state(4)
        for t in range(3):
            _, state = model(idx[:, t : t + 1], state)
        state = model.select_state(state, keep)
        alone = model.init_state(2)
        for t in range(3):
            _, alone = model(idx[keep, t : t + 1], alone)
        for t in range(3, 6):
            logits, state = model(idx[keep, t : t + 1], state)
            expected, alone = model(idx[keep, t : t + 1], alone)
            torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ALL)
def test_compacting_twice_keeps_the_right_rows(make, family):
    """Drop rows twice, as the decoder drops finished ones (ascending rows, the old state
    not used again), the transformer's cache of 4 filling up meanwhile: the rows left
    give the logits they give in a batch that never dropped anything."""
    options = {"block_size": 4} if family == "transformer" else {}
    model = make(family, **options).eval()
    idx = torch.randint(0, V, (5, 7))
    drops = {2: torch.tensor([0, 2, 3, 4]), 5: torch.tensor([1, 3])}  # step -> rows kept
    with torch.no_grad():
        whole, state, rows = model.init_state(5), model.init_state(5), torch.arange(5)
        for t in range(7):
            if t in drops:
                state, rows = model.compact_state(state, drops[t]), rows[drops[t]]
            expected, whole = model(idx[:, t : t + 1], whole)
            logits, state = model(idx[rows, t : t + 1], state)
            torch.testing.assert_close(logits, expected[rows], atol=1e-5, rtol=1e-5)
    assert rows.tolist() == [2, 4]


def _pattern_corpus(n: int = 64, length: int = 8) -> torch.Tensor:
    """Rows of the cycle 1 2 3 ... 10 from random starting points: easy to learn."""
    starts = torch.randint(0, V - 1, (n, 1))
    return 1 + (starts + torch.arange(length)) % (V - 1)  # (n, length)


@pytest.mark.parametrize("family", GRADIENT_TRAINED)
def test_a_few_adam_steps_lower_the_loss(make, family):
    model = make(family).train()
    data = _pattern_corpus()
    x, y = data[:, :-1], data[:, 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = nll(model(x)[0], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5, losses


@pytest.mark.parametrize("family", GRADIENT_TRAINED)
def test_first_loss_is_about_ln_vocab(family):
    """At init the model should be unsure, not confidently wrong: loss ~ ln(V)."""
    torch.manual_seed(0)
    vocab_size = 27
    cls = FAMILIES[family]
    model = cls(cls.config_class(), vocab_size).train()  # default sizes
    idx = torch.randint(0, vocab_size, (32, 16))
    targets = torch.randint(0, vocab_size, (32, 16))
    with torch.no_grad():
        loss = nll(model(idx)[0], targets).item()
    tolerance = 0.1 if family in ("mlp", "bigram") else 0.15
    assert abs(loss - math.log(vocab_size)) < tolerance, loss


@pytest.mark.parametrize("family", ALL)
def test_default_config_round_trips_through_json(family):
    config = FAMILIES[family].config_class()
    data = json.loads(json.dumps(config_to_dict(config)))
    assert make_config(family, data) == config


BAD_OPTIONS = [
    ("ngram", {"n": 0}, "n "),
    ("mlp", {"hidden": 0}, "hidden"),
    ("wavenet", {"context": 6}, "context"),
    ("wavenet", {"context": 1}, "context"),
    ("wavenet", {"embedding": 0}, "embedding"),
    ("rnn", {"cell_impl": "cudnn"}, "cell_impl"),
    ("gru", {"n_layer": 0}, "n_layer"),
    ("lstm", {"dropout": 1.0}, "dropout"),
    ("lstm", {"hidden": -3}, "hidden"),
    ("transformer", {"n_embd": 30, "n_head": 4}, "n_embd"),
    ("transformer", {"block_size": 0}, "block_size"),
    ("transformer", {"dropout": -0.1}, "dropout"),
    ("transformer", {"n_heads": 4}, "n_heads"),
]


@pytest.mark.parametrize("family, options, named", BAD_OPTIONS)
def test_bad_options_are_user_errors_naming_the_option(family, options, named):
    with pytest.raises(CharloomError) as caught:
        make_config(family, options)
    assert named in str(caught.value)


SIZE_OPTIONS = {  # options each family's formula must follow, drawn at random below
    "mlp": {"context": [1, 3, 5], "embedding": [1, 7], "hidden": [3, 20], "n_layer": [1, 3],
            "batchnorm": [0, 1], "logits_batchnorm": [0, 1]},
    "wavenet": {"context": [2, 8, 16], "embedding": [2, 9], "hidden": [4, 17], "batchnorm": [0, 1]},
    "rnn": {"n_layer": [1, 3], "hidden": [5, 19], "embedding": [2, 7], "learned_init": [0, 1]},
    "gru": {"n_layer": [1, 3], "hidden": [5, 19], "embedding": [2, 7], "learned_init": [0, 1]},
    "lstm": {"n_layer": [1, 3], "hidden": [5, 19], "embedding": [2, 7], "learned_init": [0, 1]},
    "transformer": {"n_layer": [1, 3], "n_head": [1, 2], "n_embd": [4, 12], "block_size": [1, 30],
                    "bias": [0, 1], "tie_weights": [0, 1], "position": ["rotary", "learned"],
                    "norm": ["rmsnorm", "layernorm"]},
}  # fmt: skip


@pytest.mark.parametrize("family", ALL)
def test_the_parameter_count_is_known_from_the_config_alone(family):
    """``parameter_count`` is what refuses an absurd config before any tensor is made; it
    must be exactly what the built model has."""
    import random

    rng = random.Random(family)
    cls = FAMILIES[family]
    for _ in range(6):
        options = {name: rng.choice(values) for name, values in SIZE_OPTIONS.get(family, {}).items()}
        options = {k: bool(v) if k in ("batchnorm", "logits_batchnorm", "learned_init", "bias", "tie_weights")
                   else v
                   for k, v in options.items()}  # fmt: skip
        config = make_config(family, options)
        vocab_size = rng.randint(2, 40)
        built = sum(p.numel() for p in cls(config, vocab_size).parameters())
        assert cls.parameter_count(config, vocab_size) == built, options
