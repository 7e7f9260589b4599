"""The decoding controls named as in Hugging Face's ``generate``: min-p, typical-p,
no-repeat n-grams and bad words, alone and under every search."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charloom.api import train
from charloom.cli import main
from charloom.errors import CharloomError
from charloom.generate.processors import MinP, TypicalP, build_processors, repeated_ngram_ends
from charloom.generate.task import repeats_ngram

QUIET = {"log": lambda message: None}


def test_off_settings_change_nothing(mlp_run):
    plain = [s.text for s in mlp_run.sample(n=40, seed=5)]
    assert [s.text for s in mlp_run.sample(n=40, seed=5, min_p=0.0)] == plain
    assert [s.text for s in mlp_run.sample(n=40, seed=5, typical_p=1.0)] == plain
    assert [s.text for s in mlp_run.sample(n=40, seed=5, no_repeat_ngram_size=0)] == plain
    assert build_processors({"min_p": 0.0, "typical_p": 1.0, "no_repeat_ngram_size": 0}, lines=True) == []


def test_min_p_keeps_what_is_at_least_p_times_the_most_likely():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(MinP(min_p=0.3)(0, logits))
    assert kept.tolist() == [[True, True, True, False]]  # 0.15 >= 0.3 * 0.5 > 0.05
    assert torch.isfinite(MinP(min_p=1.0)(0, logits)).sum() == 1


def test_typical_p_keeps_the_tokens_nearest_the_entropy():
    probs = torch.tensor([[0.6, 0.25, 0.1, 0.05]])
    entropy = -(probs * probs.log()).sum()
    distance = (-probs.log() - entropy).abs()[0]
    order = distance.argsort().tolist()
    kept = torch.isfinite(TypicalP(typical_p=0.3)(0, probs.log()))[0]
    # the nearest token alone holds 0.25 < 0.3: the next nearest joins it, and no more
    assert probs[0, order[0]] < 0.3 and kept.sum() == 2
    assert kept[order[0]] and kept[order[1]]


def test_no_repeat_bans_the_token_that_would_close_a_seen_ngram():
    history = torch.tensor([[1, 2, 3, 1, 2]])  # 1 2 was followed by 3
    assert repeated_ngram_ends(history, 3, 5).nonzero()[:, 1].tolist() == [3]
    assert repeated_ngram_ends(history, 1, 5).nonzero()[:, 1].tolist() == [1, 2, 3]
    assert repeated_ngram_ends(history, 2, 5).nonzero()[:, 1].tolist() == [3]  # after 2 came 3
    assert not repeats_ngram("abab", 2, given=4)  # a prefix may repeat itself
    assert repeats_ngram("ababab", 3) and not repeats_ngram("abcab", 3)


def test_the_controls_cut_what_they_should(mlp_run):
    free = mlp_run.sample(n=200, seed=2)
    assert any(repeats_ngram(s.text, 2) for s in free)  # so the rule below has work to do
    for s in mlp_run.sample(n=200, seed=2, no_repeat_ngram_size=2):
        assert not repeats_ngram(s.text, 2)
    assert any("an" in s.text for s in free)
    for s in mlp_run.sample(n=200, seed=2, bad_words=["an", "el"]):
        assert "an" not in s.text and "el" not in s.text
    sure = mlp_run.sample(n=100, seed=2, min_p=0.5)
    assert len({s.text for s in sure}) < len({s.text for s in free[:100]})


def test_bad_words_in_the_prefix_or_out_of_range_settings_are_one_line_errors(mlp_run):
    with pytest.raises(CharloomError, match="bad_words forbids"):
        mlp_run.sample(n=1, prefix="ann", bad_words=["nn"])
    for bad in ({"min_p": 1.5}, {"typical_p": 0.0}, {"no_repeat_ngram_size": -1}):
        with pytest.raises(CharloomError, match=f"^{next(iter(bad))} must be"):
            mlp_run.sample(n=1, **bad)


def test_running_text_obeys_bad_words_and_no_repeat(text_file, tmp_path):
    run = train(text_file, "bigram", out=tmp_path / "t", format="text", max_steps=100, **QUIET)
    free = run.sample(n=4, seed=0, prefix="the", max_new_tokens=120)
    assert any("at" in s.text[3:] for s in free)
    for s in run.sample(n=4, seed=0, prefix="the", max_new_tokens=120, bad_words=["at", "og"]):
        assert "at" not in s.text and "og" not in s.text and len(s.text) == 3 + 120
    for s in run.sample(n=4, seed=0, prefix="the", max_new_tokens=60, no_repeat_ngram_size=4):
        assert not repeats_ngram(s.text, 4, given=3)


def test_the_cli_reads_bad_words_from_a_file(mlp_run, tmp_path, capsys):
    words = tmp_path / "bad.txt"
    words.write_text("a\ne\n\n")
    assert main(["sample", str(mlp_run.path), "-n", "30", "--seed", "1", "--bad-words", str(words)]) == 0
    items = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert len(items) == 30 and not any("a" in item or "e" in item for item in items)


SEARCHES = st.sampled_from(
    [{}, {"best_of": 3}, {"refine": 1}, {"num_beams": 4}, {"contains": "a"}, {"max_len": 6}]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(0, 3),
    bad_words=st.lists(st.text("aeilnr", min_size=1, max_size=3), max_size=4),
    min_p=st.one_of(st.none(), st.floats(0.0, 0.5)),
    typical_p=st.one_of(st.none(), st.floats(0.2, 1.0)),
    top_k=st.one_of(st.none(), st.integers(1, 8)),
    search=SEARCHES,
    seed=st.integers(0, 2**16),
)
def test_every_returned_item_obeys_no_repeat_and_bad_words(
    mlp_run, size, bad_words, min_p, typical_p, top_k, search, seed
):
    options = dict(
        no_repeat_ngram_size=size,
        bad_words=bad_words,
        min_p=min_p,
        typical_p=typical_p,
        top_k=top_k,
        budget=200,
        **search,
    )
    n = min(4, search.get("num_beams", 4))
    try:
        samples = mlp_run.sample(n=n, seed=seed, **options)
    except CharloomError as error:  # settings no item can meet are refused in one line
        assert "\n" not in str(error)
        return
    for s in samples:
        assert not repeats_ngram(s.text, size)
        assert not any(word in s.text for word in bad_words)
        assert math.isfinite(s.logprob)
