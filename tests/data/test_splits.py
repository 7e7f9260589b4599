import pytest

from charloom.data.splits import split_items, split_text
from charloom.errors import DataError


def test_split_is_seeded_disjoint_and_deduplicated(names):
    items = names + names[:50]
    a = split_items(items, seed=3)
    b = split_items(items, seed=3)
    c = split_items(items, seed=4)
    assert (a.train, a.val, a.test) == (b.train, b.val, b.test)
    assert a.train != c.train
    unique = set(items)
    assert a.duplicates_dropped == len(items) - len(unique)
    assert set(a.train) | set(a.val) | set(a.test) == unique
    assert not (set(a.train) & set(a.val)) and not (set(a.train) & set(a.test))
    assert abs(len(a.val) - 0.1 * len(unique)) <= 1


def test_no_dedup_keeps_duplicates(names):
    s = split_items(names + names, dedup=False)
    assert sum(s.sizes().values()) == 2 * len(names) and s.duplicates_dropped == 0


def test_text_split_is_contiguous():
    text = "abcdefghij" * 10
    s = split_text(text)
    assert s.train[0] + s.val[0] + s.test[0] == text
    assert (len(s.train[0]), len(s.val[0])) == (90, 5)  # running text: 90/5/5, held out at the end


def test_bad_fractions_and_tiny_data():
    with pytest.raises(DataError):
        split_items(["a", "b"], fractions=(0.5, 0.6, 0.1))
    with pytest.raises(DataError):
        split_items(["a"], fractions=(0.0, 0.5, 0.5))
