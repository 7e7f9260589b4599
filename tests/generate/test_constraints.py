"""Constraints: masks that every draw satisfies, filters within a budget, clear failures."""

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.generate.automata import bad_words_automaton, pattern_automaton
from charloom.generate.constraints import Constraints, compile_constraints


def satisfies(text: str, options: dict, train: set[str]) -> bool:
    return (
        text.startswith(options.get("starts_with", ""))
        and text.endswith(options.get("ends_with", ""))
        and all(part in text for part in options.get("contains", ()))
        and len(text) >= options.get("min_len", 0)
        and len(text) <= options.get("max_len", 10**9)
        and set(text) <= set(options.get("alphabet", text))
        and (options.get("regex") is None or re.search(options["regex"], text) is not None)
        and not (options.get("not_in_train") and text in train)
        and text not in options.get("exclude", ())
    )


@st.composite
def constraint_sets(draw):
    options = {}
    if draw(st.booleans()):
        options["starts_with"] = draw(st.sampled_from(["a", "ma", "jo", "k", "br"]))
    if draw(st.booleans()):
        options["ends_with"] = draw(st.sampled_from(["a", "n", "lyn", "ie", "son"]))
    if draw(st.booleans()):
        options["contains"] = draw(st.lists(st.sampled_from(["e", "ar", "li", "y"]), max_size=2))
    if draw(st.booleans()):
        options["min_len"] = draw(st.integers(0, 7))
    if draw(st.booleans()):
        options["max_len"] = draw(st.integers(2, 10))
    if draw(st.booleans()):
        options["alphabet"] = draw(st.sampled_from(["aeiouylnrmsk", "abcdefghijklmnop", "anelisyrkmjo"]))
    if draw(st.booleans()):
        options["regex"] = draw(st.sampled_from(["^[^z]*$", "[aeiou]{2}", "^.{2,}$", "(.)\\1"]))
    options["not_in_train"] = draw(st.booleans())
    options["unique"] = draw(st.booleans())
    options["enforce"] = draw(st.sampled_from(["auto", "mask", "reject"]))
    if draw(st.booleans()):
        options["exclude"] = ["anna", "mara", "jon", "kayla"]
    return options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=constraint_sets(), seed=st.integers(0, 2**16))
def test_every_returned_item_satisfies_every_constraint(mlp_run, options, seed):
    try:
        samples = mlp_run.sample(n=6, seed=seed, budget=300, **options)
    except CharloomError as exc:  # only a set that no item can satisfy may be refused
        assert any(reason in str(exc) for reason in ("no item can satisfy", "leaves out", "swap them"))
        return
    train = mlp_run.train_set
    for s in samples:
        assert satisfies(s.text, options, train), (s.text, options)
        assert s.finished
    if options.get("unique"):
        assert len({s.text for s in samples}) == len(samples)
    assert samples.kept == len(samples) and samples.tried <= 300
    filtered = {"regex", "not_in_train", "unique", "exclude"}
    patterns = options.get("ends_with") or options.get("contains")
    if not any(options.get(name) for name in filtered) and (options["enforce"] == "mask" or not patterns):
        # masks alone: every draw is an answer, nothing is thrown away
        assert len(samples) == 6 and samples.tried == 6
    if options["enforce"] == "auto" and not any(options.get(name) for name in filtered):
        assert len(samples) == 6  # rejection gives way to masks before the budget runs out


def test_lengths_are_respected_exactly(mlp_run):
    exact = mlp_run.sample(n=40, seed=0, min_len=5, max_len=5)
    assert {len(s.text) for s in exact} == {5}
    short = mlp_run.sample(n=60, seed=0, max_len=3)
    assert max(len(s.text) for s in short) == 3 and all(s.finished for s in short)
    long = mlp_run.sample(n=60, seed=0, min_len=9)
    assert min(len(s.text) for s in long) == 9
    ranged = mlp_run.sample(n=60, seed=0, min_len=4, max_len=6, starts_with="ka")
    assert {len(s.text) for s in ranged} <= {4, 5, 6} and all(s.text.startswith("ka") for s in ranged)


def test_masks_give_ends_and_contents_without_waste(trigram_run):
    samples = trigram_run.sample(
        n=50, seed=1, ends_with="lyn", contains=["e", "ar"], max_len=12, enforce="mask"
    )
    assert samples.tried == 50 and samples.masked_after == 0
    for s in samples:
        assert s.text.endswith("lyn") and "e" in s.text and "ar" in s.text and len(s.text) <= 12


def test_patterns_are_resampled_while_affordable_then_masked(trigram_run):
    common = trigram_run.sample(n=20, seed=0, ends_with="a")
    assert common.masked_after is None and common.tried > 20  # rejection: the model's own names
    assert all(s.text.endswith("a") for s in common)
    rare = trigram_run.sample(n=20, seed=0, contains="qx", budget=400)
    assert rare.masked_after is not None and len(rare) == 20
    longest = max(map(len, trigram_run.train_set))
    assert all("qx" in s.text and len(s.text) <= longest for s in rare)
    exact = trigram_run.sample(n=20, seed=0, contains="qx", budget=400, enforce="reject")
    assert exact.masked_after is None and exact.tried == 400 and len(exact) < 20


def test_impossible_constraints_are_refused_at_once(mlp_run):
    cases = [
        dict(starts_with="ab", max_len=1),
        dict(ends_with="son", contains=["q"], max_len=3),
        dict(min_len=3, alphabet="a", ends_with="b"),
        dict(prefix="ma", starts_with="jo"),
    ]
    for options in cases:
        with pytest.raises(CharloomError):
            mlp_run.sample(n=3, seed=0, **options)


def test_an_unsatisfiable_filter_ends_within_its_budget(mlp_run):
    samples = mlp_run.sample(n=5, seed=0, regex="^q{5}", budget=200)
    assert len(samples) == 0 and samples.exhausted and samples.tried == 200
    assert "budget of 200 attempts ran out" in samples.summary()
    default = mlp_run.sample(n=2, seed=0, regex="^q{5}")
    assert default.tried == 200  # 100 per item by default


def test_a_hard_filter_is_met_by_resampling(mlp_run):
    samples = mlp_run.sample(n=5, seed=0, regex="^.*[aeiou]{3}", budget=5000)
    assert len(samples) == 5 and samples.tried > samples.kept == 5
    assert all(re.search("[aeiou]{3}", s.text) for s in samples)


def test_kmp_automaton_tracks_the_longest_matched_prefix():
    rng = random.Random(0)
    for _ in range(50):
        pattern = [rng.randint(1, 3) for _ in range(rng.randint(1, 5))]
        dfa, accept = pattern_automaton(pattern, 4, absorbing=False)
        state, text = 0, []
        for _ in range(30):
            token = rng.randint(1, 3)
            text.append(token)
            state = dfa[state, token]
            expected = max(j for j in range(len(pattern) + 1) if j == 0 or text[-j:] == pattern[:j])
            assert state == expected
            assert accept[state] == (text[-len(pattern) :] == pattern)


def test_aho_corasick_automaton_dies_exactly_when_a_bad_word_is_written():
    rng = random.Random(1)
    for _ in range(50):
        words = [[rng.randint(0, 2) for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 4))]
        dfa, alive = bad_words_automaton(words, 3)
        state, text = 0, []
        for _ in range(25):
            text.append(rng.randint(0, 2))
            state = dfa[state, text[-1]]
            written = any(text[i : i + len(w)] == w for w in words for i in range(len(text) - len(w) + 1))
            assert alive[state] == (not written)


def test_text_runs_refuse_item_constraints():
    vocab = Vocab(list("ab "), boundary=False)
    with pytest.raises(CharloomError, match="running text"):
        compile_constraints(Constraints(ends_with="a"), vocab, prefix="a")
    assert compile_constraints(Constraints(regex="a b"), vocab, prefix="a").mask is None


def test_bad_constraint_values_are_user_errors():
    for bad in (dict(min_len=5, max_len=2), dict(min_len=-1), dict(regex="(")):
        with pytest.raises(CharloomError):
            Constraints(**bad)
