"""The decoding loop and its logit transforms."""

import math

import pytest
import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.generate.processors import RepetitionPenalty, TopK, TopP
from charloom.generate.sampling import Decoding, Forced, decode, generate, texts_of


def test_top_k_1_is_greedy(mlp_run):
    greedy = mlp_run.sample(n=1, temperature=0)[0].text
    for seed in range(3):
        assert {s.text for s in mlp_run.sample(n=4, top_k=1, seed=seed)} == {greedy}


def test_tiny_top_p_is_greedy_and_top_p_1_changes_nothing(mlp_run):
    greedy = mlp_run.sample(n=1, temperature=0)[0].text
    assert {s.text for s in mlp_run.sample(n=4, top_p=1e-6, seed=0)} == {greedy}
    plain = mlp_run.sample(n=20, seed=5, temperature=0.9)
    same = mlp_run.sample(n=20, seed=5, temperature=0.9, top_p=1.0)
    assert [s.text for s in plain] == [s.text for s in same]


def test_same_seed_same_items_and_another_seed_others(mlp_run):
    options = dict(
        n=12,
        temperature=0.8,
        top_k=10,
        top_p=0.95,
        repetition_penalty=1.2,
        ends_with="a",
        not_in_train=True,
        unique=True,
    )
    first = mlp_run.sample(seed=3, **options)
    assert [s.text for s in first] == [s.text for s in mlp_run.sample(seed=3, **options)]
    assert [s.text for s in first] != [s.text for s in mlp_run.sample(seed=4, **options)]


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    kept = lambda p: torch.isfinite(TopP(top_p=p)(0, logits))[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]
    assert kept(0.6) == [True, True, False, False]
    assert kept(0.8) == [True, True, False, False]
    assert kept(0.81) == [True, True, True, False]
    assert kept(1.0) == [True] * 4
    shuffled = logits[:, [2, 0, 3, 1]]  # order of the vocabulary does not matter
    assert torch.isfinite(TopP(top_p=0.6)(0, shuffled))[0].tolist() == [False, True, False, True]


def test_top_k_and_repetition_penalty():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    assert torch.isfinite(TopK(top_k=2)(0, logits))[0].tolist() == [True, False, False, True]
    penalty = RepetitionPenalty(repetition_penalty=2.0)
    penalty.reset(1, 0, 4)
    penalty.advance(torch.tensor([0]))
    penalty.advance(torch.tensor([1]))
    assert penalty(0, logits).tolist() == [[1.0, -2.0, 0.5, 3.0]]


def test_bad_decoding_values_are_user_errors():
    for bad, named in (
        ({"temperature": -1}, "temperature "),
        ({"top_k": 0}, "top_k "),
        ({"top_p": 0}, "top_p "),
        ({"top_p": 1.5}, "top_p "),
        ({"repetition_penalty": 0}, "repetition_penalty "),
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size "),
    ):
        with pytest.raises(CharloomError, match=named):
            Decoding(bad)
    with pytest.raises(CharloomError, match="max_new_tokens "):
        Decoding(max_new_tokens=0)
    with pytest.raises(CharloomError, match="no decoding control 'top_q'"):
        Decoding({"top_q": 0.5})


def test_likelihood_of_a_sample_is_what_score_reports(mlp_run):
    samples = mlp_run.sample(n=8, seed=0, prefix="ma")
    scores = mlp_run.score([s.text for s in samples])
    for sample, scored in zip(samples, scores, strict=True):
        assert sample.text.startswith("ma") and sample.finished
        assert sample.num_tokens == len(sample.text) + 1 == scored.num_tokens
        assert sample.logprob == pytest.approx(scored.logprob, abs=1e-4)


class Counting(torch.nn.Module):
    """Wraps a model and records the batch size of every step."""

    def __init__(self, model):
        super().__init__()
        self.inner, self.sizes = model, []
        self.vocab_size = model.vocab_size
        self.device = model.device

    def init_state(self, batch_size):
        return self.inner.init_state(batch_size)

    def forward(self, tokens, state=None, **layout):
        self.sizes.append(len(tokens))
        return self.inner(tokens, state, **layout)

    def select_state(self, state, index):
        return self.inner.select_state(state, index)

    def compact_state(self, state, keep):
        return self.inner.compact_state(state, keep)


@pytest.mark.parametrize("lazy", [0.0, 0.25])
def test_rows_that_finish_leave_the_batch(mlp_run, monkeypatch, lazy):
    from charloom.generate import rows

    monkeypatch.setattr(rows, "LAZY_DROP", lazy)
    model = Counting(mlp_run.model)
    decoded = decode(model, 64, steps=30, generator=torch.Generator().manual_seed(0))
    lengths = decoded.num_tokens  # tokens emitted, the end included
    assert model.sizes[0] == 1  # every row starts from the boundary: one row computes it
    waited = 0
    for t, size in enumerate(model.sizes[1:], start=1):
        going = int((lengths > t).sum())  # rows still going at step t
        assert going <= size  # every one of them is in the batch
        assert size - going <= lazy * size  # and finished rows wait there for a quarter at most
        waited += size - going
    assert (waited > 0) == (lazy > 0)
    assert model.sizes[1:] == sorted(model.sizes[1:], reverse=True)
    assert model.sizes[-1] < 64 / 2
    assert decoded.finished.all()
    for row, length in zip(decoded.tokens.tolist(), lengths.tolist(), strict=True):
        assert row[length - 1] == BOUNDARY_ID and BOUNDARY_ID not in row[: length - 1]
        assert all(token == -1 for token in row[length:])  # a waiting row's draws are dropped
    assert torch.all(decoded.token_logprob[torch.arange(30)[None, :] >= lengths[:, None]] == 0)


def test_a_shared_prefix_is_computed_once_and_scores_as_if_each_row_ran_it(mlp_run):
    model = Counting(mlp_run.model)
    samples = mlp_run.sample(n=20, seed=3, prefix="mar")
    assert all(s.text.startswith("mar") for s in samples)
    scored = mlp_run.score([s.text for s in samples])
    for sample, score in zip(samples, scored, strict=True):
        assert -sample.logprob == pytest.approx(score.nll, abs=1e-4)
    generator = torch.Generator().manual_seed(0)
    decode(model, 20, steps=10, forced=Forced.prefix([5, 1, 9], 20), generator=generator)
    assert model.sizes[:4] == [1, 1, 1, 1] and model.sizes[4] <= 20


def test_min_and_max_new_tokens(mlp_run):
    for s in mlp_run.sample(n=30, seed=1, prefix="a", min_new_tokens=6):
        assert len(s.text) >= 7 and s.finished
    for s in mlp_run.sample(n=30, seed=1, max_new_tokens=3):
        assert len(s.text) <= 3 and (s.finished or len(s.text) == 3)


def test_texts_of_matches_vocab_decode():
    vocab = Vocab(list("abc"))
    tokens = torch.tensor([[1, 2, 0, -1], [3, 3, 3, 0], [-1, -1, -1, -1]])
    assert texts_of(tokens, vocab) == ["ab", "ccc", ""]
    text_vocab = Vocab(list(" ab"), boundary=False)
    assert texts_of(torch.tensor([[1, 0, 2, -1]]), text_vocab, start="b") == ["ba b"]


def test_generate_for_the_trainer_still_works(mlp_run):
    samples = generate(
        mlp_run.model,
        mlp_run.vocab,
        5,
        prefix="jo",
        max_new_tokens=20,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(samples) == 5 and all(s.text.startswith("jo") for s in samples)
    assert all(math.isfinite(s.logprob) and s.logprob < 0 for s in samples)
