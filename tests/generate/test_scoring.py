"""Likelihood of items (``charloom score``) and the scorers."""

import math

import pytest
import torch

from charloom.errors import CharloomError
from charloom.generate.scoring import (
    SCORERS,
    Scorer,
    Weighted,
    make_scorer,
    parse_score_spec,
    register_scorer,
    token_logprobs,
)
from charloom.models.base import CharModel

ITEMS = ["mara", "jonathan", "li", "zyx"]


def test_score_equals_evaluate_item_by_item_and_in_total(mlp_run, tmp_path):
    scores = mlp_run.score(ITEMS)
    for item, scored in zip(ITEMS, scores, strict=True):
        path = tmp_path / f"{item}.txt"
        path.write_text(item + "\n")
        assert scored.nll_per_char == pytest.approx(mlp_run.evaluate(file=path)["nll"], rel=1e-5)
        assert scored.num_tokens == len(item) + 1 and scored.tokens[-1] == "."
        assert scored.tokens[:-1] == list(item)
    path = tmp_path / "all.txt"
    path.write_text("\n".join(ITEMS) + "\n")
    overall = sum(s.nll for s in scores) / sum(s.num_tokens for s in scores)
    assert overall == pytest.approx(mlp_run.evaluate(file=path)["nll"], rel=1e-5)


def test_bits_are_nats_over_ln2(mlp_run):
    scored = mlp_run.score("mara")[0]
    nats, bits = scored.to_json("nats"), scored.to_json("bits")
    assert bits["nll"] == pytest.approx(nats["nll"] / math.log(2))
    assert [b for _, b in bits["surprisal"]] == pytest.approx([n / math.log(2) for _, n in nats["surprisal"]])
    assert sum(n for _, n in nats["surprisal"]) == pytest.approx(nats["nll"])


def test_scorers_and_their_combination(mlp_run, trigram_run, names_path):
    texts = ["mara", "anna", "qqqqzz"]
    loglik = make_scorer("loglik", mlp_run)(texts)
    per_char = make_scorer("loglik-per-char", mlp_run)(texts)
    assert per_char == pytest.approx([ll / (len(t) + 1) for ll, t in zip(loglik, texts, strict=True)])
    novelty = make_scorer("novelty", mlp_run)
    train_item = next(iter(mlp_run.train_set))
    assert novelty([train_item, train_item + "qq"]) == [0.0, 2.0]
    combined = make_scorer("loglik:1,novelty:0.5", mlp_run)
    assert isinstance(combined, Weighted)
    expected = [a + 0.5 * b for a, b in zip(loglik, novelty(texts), strict=True)]
    assert combined(texts) == pytest.approx(expected)
    ratio = make_scorer(f"ratio:{trigram_run.path}", mlp_run)(texts)
    other = make_scorer("loglik", trigram_run)(texts)
    assert ratio == pytest.approx([a - b for a, b in zip(loglik, other, strict=True)])
    assert make_scorer(f"ratio:{mlp_run.path}", mlp_run)(texts) == pytest.approx([0, 0, 0])


def test_score_specs_parse_and_fail_clearly():
    assert parse_score_spec("loglik:1, novelty:0.5") == [("loglik", None, 1.0), ("novelty", None, 0.5)]
    assert parse_score_spec("ratio:runs/b") == [("ratio", "runs/b", 1.0)]
    assert parse_score_spec("ratio:runs/b:-2,novelty") == [("ratio", "runs/b", -2.0), ("novelty", None, 1.0)]
    for bad in ("nope", "loglik:heavy", "ratio", ""):
        with pytest.raises(CharloomError):
            parse_score_spec(bad)


def test_a_registered_scorer_is_usable_by_name(mlp_run):
    class VowelShare(Scorer):
        name = "vowels"

        def __call__(self, texts):
            return [sum(c in "aeiou" for c in t) / max(len(t), 1) for t in texts]

    register_scorer("vowels", "share of vowels")(lambda run, argument: VowelShare())
    try:
        samples = mlp_run.sample(n=3, best_of=4, score="vowels", seed=0)
        assert all(s.score == VowelShare()([s.text])[0] for s in samples)
    finally:
        del SCORERS["vowels"]


class LastToken(CharModel):
    """A model with a bounded context whose ``forward_sequence`` refuses longer inputs (as
    a transformer's does), read on through the generic ``forward_from``."""

    family = "test"

    def __init__(self, vocab_size: int):
        super().__init__(None, vocab_size)
        self.table = torch.nn.Parameter(torch.randn(vocab_size, vocab_size))

    @property
    def context_size(self) -> int:
        return 4

    def forward_sequence(self, idx):
        assert idx.shape[1] <= 4, "too long for this model"
        return self.table[idx]


def test_long_items_are_read_on_from_a_state_when_the_sequence_path_cannot_take_them():
    torch.manual_seed(0)
    model = LastToken(5)
    sequence = [0, 1, 2, 3, 4, 1, 2, 0]
    [logp] = token_logprobs(model, [sequence])
    expected = torch.log_softmax(model.table, dim=-1)[sequence[:-1], sequence[1:]]
    assert logp.tolist() == pytest.approx(expected.tolist(), abs=1e-6)
