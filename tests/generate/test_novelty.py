"""The novelty index against brute force."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from charloom.generate.novelty import NoveltyIndex, levenshtein


def brute_force(query: str, items: list[str]) -> int:
    return min(levenshtein(query, item) for item in items)


def test_levenshtein_basics():
    assert levenshtein("", "abc") == 3 and levenshtein("kitten", "sitting") == 3
    assert levenshtein("flaw", "lawn") == 2 and levenshtein("same", "same") == 0


def test_index_equals_brute_force_on_random_data():
    rng = random.Random(0)
    for _ in range(20):
        alphabet = "abcdef"[: rng.randint(1, 6)]
        items = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
            for _ in range(rng.randint(1, 300))
        ]
        index = NoveltyIndex(items)
        for _ in range(40):
            query = "".join(rng.choice(alphabet + "xz") for _ in range(rng.randint(0, 14)))
            assert index.distance(query) == brute_force(query, items), (query, alphabet)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(st.text("abcd", max_size=8), min_size=1, max_size=40),
    queries=st.lists(st.text("abcde", max_size=12), min_size=1, max_size=5),
)
def test_index_equals_brute_force_property(items, queries):
    index = NoveltyIndex(items)
    assert index.distances(queries) == [brute_force(q, items) for q in queries]


def test_names_like_queries_on_many_items():
    rng = random.Random(1)
    syllables = ["ka", "le", "mi", "no", "ra", "si", "ta", "vo", "an", "el", "lyn", "bri"]
    items = list({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
    index = NoveltyIndex(items)
    queries = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) + rng.choice(["", "x", "q"])
        for _ in range(30)
    ]
    assert index.distances(queries) == [brute_force(q, items) for q in queries]
