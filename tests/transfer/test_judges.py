from __future__ import annotations

import math

import torch

from charloom.judge.classifier import NgramClassifier, ngram_ids
from charloom.judge.likelihood import log_likelihood, posterior


def test_log_likelihood_matches_the_sampler(group):
    """The log-probability the sampler accumulates for a whole item is log p(item)."""
    run = group.runs["hard"]
    samples = run.sample(n=5, seed=3)
    scored = log_likelihood(run.model, run.vocab, [s.text for s in samples])
    for sample, value in zip(samples, scored.tolist(), strict=True):
        assert math.isclose(sample.logprob, value, rel_tol=1e-5, abs_tol=1e-5)


def test_unknown_characters_are_impossible_not_errors(group):
    run = group.runs["soft"]
    assert log_likelihood(run.model, run.vocab, ["kzq"]).item() == -math.inf
    assert torch.allclose(posterior(torch.tensor([[-math.inf, -math.inf]])), torch.tensor([[0.5, 0.5]]))


def test_likelihood_judge_prefers_the_right_category(group):
    probs = group.judge.posterior(["kotak", "lamina"])
    assert group.categories == ["hard", "soft"]
    assert probs[0, 0] > 0.9 and probs[1, 1] > 0.9
    assert torch.allclose(probs.sum(dim=1), torch.ones(2, dtype=torch.float64))


def test_classifier_held_out_figures_saved_and_reloaded(group):
    info = group.info["classifier"]
    assert info["accuracy"] > 0.9 and info["items"] > 0
    clf = NgramClassifier.load(group.path)
    figures = clf.evaluate(group.split("test"))
    assert figures["accuracy"] == info["accuracy"]
    assert sum(map(sum, figures["confusion"])) == figures["items"]
    assert (group.path / "classifier.safetensors").exists()
    assert not list(group.path.glob("*.pt")) and not list(group.path.glob("*.pkl"))


def test_ngram_hashing_is_stable():
    assert ngram_ids("ab", 2, 1 << 15) == ngram_ids("ab", 2, 1 << 15)
    assert len(ngram_ids("ab", 2, 1 << 15)) == 4 + 3  # ^ a b $ and ^a ab b$
