"""Beam search, best-of-N and refinement."""

import itertools
import math

import pytest
import torch

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.generate.constraints import Constraints, compile_constraints
from charloom.generate.sampling import Decoding
from charloom.generate.scoring import total_logprobs
from charloom.generate.search import beam_search
from charloom.generate.task import Task
from charloom.models.registry import build_model, make_config


def task_for(run, constraints=None, max_new_tokens=30, seed=0):
    compiled = compile_constraints(
        constraints or Constraints(), run.vocab, max_new_tokens=max_new_tokens, train_set=run.train_set
    )
    return Task(
        run.model,
        run.vocab,
        compiled,
        Decoding(max_new_tokens=max_new_tokens),
        torch.Generator().manual_seed(seed),
    )


def test_one_beam_is_greedy(mlp_run, trigram_run):
    for run in (mlp_run, trigram_run):
        greedy = run.sample(n=1, temperature=0)[0]
        [beam], _, _ = beam_search(task_for(run), num_beams=1, n=1, include_greedy=False)
        assert beam.text == greedy.text
        assert beam.logprob == pytest.approx(greedy.logprob, abs=1e-5)
        assert run.sample(n=1, num_beams=1)[0].text == greedy.text
        constrained = dict(starts_with="k", ends_with="n", max_len=7)
        assert (
            run.sample(n=1, num_beams=1, **constrained)[0].text
            == run.sample(n=1, temperature=0, **constrained)[0].text
        )


def test_one_beam_does_not_take_an_ending_ranked_below_it():
    """A bigram where after 'a' the end is likely but 'a' more so, and 'aa' must end:
    greedy gives 'aa'; a beam that took every ending it saw would return 'a'."""
    vocab = Vocab(list("a"))
    model = build_model("bigram", make_config("bigram", {}), vocab.size)
    with torch.no_grad():  # rows: from boundary, from 'a'
        model.logits.copy_(torch.tensor([[-9.0, 0.0], [0.0, 0.4]]).log_softmax(-1))
    run = type("R", (), {"model": model, "vocab": vocab, "train_set": set()})()
    [beam], _, _ = beam_search(
        task_for(run, Constraints(max_len=2), max_new_tokens=3), num_beams=1, n=1, include_greedy=False
    )
    assert beam.text == "aa"


def test_beams_are_sorted_and_the_best_beats_greedy(mlp_run, trigram_run):
    for run in (mlp_run, trigram_run):
        greedy = run.sample(n=1, temperature=0)[0]
        beams = run.sample(n=8, num_beams=8)
        scores = [s.score for s in beams]
        assert scores == sorted(scores, reverse=True) and len(beams) == 8
        assert len({s.text for s in beams}) == 8
        assert beams[0].logprob >= greedy.logprob - 1e-5  # float32 rounding only
        for s in beams:  # with length_penalty 0 the score is the likelihood
            assert s.score == pytest.approx(s.logprob)
            assert s.logprob == pytest.approx(run.score(s.text)[0].logprob, abs=1e-4)


def test_beam_search_finds_the_most_likely_items_exactly():
    """On a 3-letter bigram with items of at most 3 letters (40 items in all), a beam
    wider than the whole space must return exactly the top items by likelihood."""
    vocab = Vocab(list("abc"))
    torch.manual_seed(0)
    model = build_model("bigram", make_config("bigram", {}), vocab.size)
    with torch.no_grad():
        model.logits.normal_(0, 1.5)
    run = type("R", (), {"model": model, "vocab": vocab, "train_set": set()})()
    items = ["".join(chars) for k in range(4) for chars in itertools.product("abc", repeat=k)]
    likelihood = dict(zip(items, total_logprobs(model, vocab, items), strict=True))
    best = sorted(items, key=likelihood.get, reverse=True)
    found, *_ = beam_search(task_for(run, Constraints(max_len=3), max_new_tokens=4), num_beams=64, n=10)
    assert [s.text for s in found] == best[:10]
    constrained, *_ = beam_search(task_for(run, Constraints(max_len=3, ends_with="b")), num_beams=64, n=5)
    assert [s.text for s in constrained] == [x for x in best if x.endswith("b")][:5]


def test_beams_honour_constraints_and_filters(mlp_run):
    beams = mlp_run.sample(n=6, num_beams=6, starts_with="ka", min_len=5, max_len=7, not_in_train=True)
    assert len(beams) == 6
    for s in beams:
        assert s.text.startswith("ka") and 5 <= len(s.text) <= 7 and s.text not in mlp_run.train_set


def test_length_penalty_favours_longer_items(trigram_run):
    plain = trigram_run.sample(n=5, num_beams=5)
    per_char = trigram_run.sample(n=5, num_beams=5, length_penalty=1.0)
    assert sum(map(len, (s.text for s in per_char))) > sum(map(len, (s.text for s in plain)))
    for s in per_char:
        assert s.score == pytest.approx(s.logprob / s.num_tokens)


def test_beam_options_that_do_not_apply_are_refused(mlp_run):
    with pytest.raises(CharloomError, match="returns at most num_beams items; ask for n 3 or fewer"):
        mlp_run.sample(n=5, num_beams=3)
    with pytest.raises(CharloomError, match="^beam search searches.*drop temperature or num_beams"):
        mlp_run.sample(n=3, num_beams=3, temperature=0.5)


@pytest.mark.parametrize("truncation", [{"top_k": 1}, {"min_p": 1.0}, {"top_p": 1e-6}, {"typical_p": 1e-6}])
def test_beam_search_extends_only_by_what_the_truncations_keep(mlp_run, truncation):
    """Keeping one token per step leaves one path to search: the greedy one, for top-k,
    top-p and min-p (typical-p keeps the token nearest the entropy, not the most likely)."""
    [found] = mlp_run.sample(n=1, num_beams=4, **truncation)
    kept = mlp_run.sample(n=1, temperature=1.0, seed=0, **truncation)[0].text
    assert found.text == kept  # a one-token truncation leaves nothing to draw


def test_best_of_keeps_the_best_of_each_group(mlp_run):
    seen = []

    def by_length(texts):
        seen.extend(texts)
        return [len(t) for t in texts]

    samples = mlp_run.sample(n=4, best_of=5, score=by_length, seed=2)
    assert len(seen) == 20 and samples.kept == 20
    for i, s in enumerate(samples):
        group = seen[5 * i : 5 * i + 5]
        assert s.text in group and s.score == max(len(t) for t in group)


def test_best_of_by_likelihood_beats_plain_sampling(mlp_run):
    plain = mlp_run.sample(n=20, seed=0)
    best = mlp_run.sample(n=20, seed=0, best_of=8, score="loglik_per_char")
    mean = lambda samples: sum(-s.nll_per_char for s in samples) / len(samples)  # noqa: E731
    assert mean(best) > mean(plain) + 0.2


def test_refinement_only_ever_improves(mlp_run):
    scorer = "loglik_per_char"
    plain = mlp_run.sample(n=12, seed=7, score=scorer, ends_with="a", max_len=9)
    refined = mlp_run.sample(n=12, seed=7, score=scorer, ends_with="a", max_len=9, refine=4)
    assert refined.refined > 0
    for before, after in zip(plain, refined, strict=True):
        assert after.score >= before.score
        assert after.text.endswith("a") and len(after.text) <= 9
        assert after.score == pytest.approx(-after.nll_per_char, abs=1e-4)
    assert sum(s.score for s in refined) > sum(s.score for s in plain)


def test_search_is_reproducible(mlp_run):
    options = dict(n=5, best_of=3, refine=2, score="loglik:1,novelty:0.5", unique=True)
    first = [(s.text, s.score) for s in mlp_run.sample(seed=11, **options)]
    assert first == [(s.text, s.score) for s in mlp_run.sample(seed=11, **options)]
    assert all(math.isfinite(score) for _, score in first)


def test_beams_can_be_reranked_by_a_scorer(trigram_run):
    pool = trigram_run.sample(n=6, num_beams=6)
    reranked = trigram_run.sample(n=3, num_beams=6, score=lambda texts: [len(t) for t in texts])
    assert [s.score for s in reranked] == sorted((len(s.text) for s in pool), reverse=True)[:3]
    assert {s.text for s in reranked} <= {s.text for s in pool}
