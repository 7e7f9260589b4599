"""The embedded datasets: each loads, holds what its index says, and keeps its promises."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from importlib import resources

import pytest

from charloom.data import datasets
from charloom.data.datasets import (
    DatasetInfo,
    dataset_text,
    get_dataset,
    is_dataset,
    list_datasets,
)
from charloom.errors import DataError

ALL = [info.name for info in list_datasets() if info.format != "text" and not info.fetched]
# built sets: tests/data/test_built.py; fetched sets: tests/data/test_fetched.py
CATEGORIZED = [info.name for info in list_datasets() if info.format == "categorized"]
A_TO_Z = re.compile(r"[a-z]+")


def categorized_rows(name: str, keep_accents: bool = False) -> list[tuple[str, str]]:
    rows = []
    for line in dataset_text(name, keep_accents=keep_accents).splitlines():
        category, item = line.split("\t")
        rows.append((category, item))
    return rows


def test_the_expected_sets_are_listed():
    assert {"names", "names-by-country", "fullnames-by-country"} <= set(ALL)
    assert all(isinstance(info, DatasetInfo) for info in list_datasets())
    assert is_dataset("names") and not is_dataset("names.txt")


@pytest.mark.parametrize("name", ALL)
def test_each_set_loads_and_matches_its_index(name):
    info = get_dataset(name)
    lines = dataset_text(name).splitlines()
    assert lines and all(lines)
    assert len(lines) == info.items
    assert info.format in ("lines", "categorized")
    assert info.description and info.source and info.licence
    if info.format == "categorized":
        assert sorted({category for category, _ in categorized_rows(name)}) == list(info.categories)
    else:
        assert info.categories == ()
        assert not any("\t" in line for line in lines)


def test_names_are_distinct_lowercase_a_to_z_and_about_30k():
    names = dataset_text("names").splitlines()
    assert all(A_TO_Z.fullmatch(name) for name in names)
    assert len(set(names)) == len(names)
    assert 25_000 <= len(names) <= 35_000
    assert {"emma", "olivia", "liam", "noah"} <= set(names[:20])  # most common first


def test_first_names_by_country_are_a_to_z_with_at_least_1000_per_category():
    rows = categorized_rows("names-by-country")
    assert all(A_TO_Z.fullmatch(item) for _, item in rows)
    assert len(set(rows)) == len(rows)
    counts = Counter(category for category, _ in rows)
    assert len(counts) >= 10
    assert min(counts.values()) >= 1000


def test_full_names_are_first_space_last_in_a_to_z():
    rows = categorized_rows("fullnames-by-country")
    for _, item in rows:
        first, _, last = item.partition(" ")
        assert A_TO_Z.fullmatch(first) and re.fullmatch(r"[a-z]+( [a-z]+)*", last), item
    assert len(set(rows)) == len(rows)
    assert len(Counter(category for category, _ in rows)) >= 10


@pytest.mark.parametrize("name", CATEGORIZED)
def test_keep_accents_gives_accented_letters_in_the_same_categories(name):
    folded = dataset_text(name)
    accented = dataset_text(name, keep_accents=True)
    assert accented != folded
    assert any(c.isalpha() and not c.isascii() for c in accented)
    assert {c for c, _ in categorized_rows(name, keep_accents=True)} == set(get_dataset(name).categories)


def strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_full_names_with_accents_pair_line_for_line_with_the_folded_ones():
    folded = categorized_rows("fullnames-by-country")
    accented = categorized_rows("fullnames-by-country", keep_accents=True)
    assert [c for c, _ in folded] == [c for c, _ in accented]
    # Where dropping the marks alone gives a-z ("přemysl" -> "premysl"), it gives the
    # folded line; the rest hold letters such as "ø" or "ß" that fold by a table.
    plain = [(f, strip_marks(a)) for (_, f), (_, a) in zip(folded, accented, strict=True)]
    plain = [(f, a) for f, a in plain if a.isascii()]
    assert len(plain) >= 0.9 * len(folded)
    assert all(f == a for f, a in plain)


def test_index_counts_per_category_match_the_files():
    index = json.loads(resources.files(datasets).joinpath("index.json").read_text("utf-8"))
    for name in CATEGORIZED:
        counts = Counter(category for category, _ in categorized_rows(name))
        assert counts == index[name]["category_items"]


def test_unknown_name_raises_a_data_error_naming_the_known_sets():
    with pytest.raises(DataError) as caught:
        get_dataset("nope")
    message = str(caught.value)
    assert "nope" in message
    assert all(name in message for name in ALL)


def test_keep_accents_on_a_set_without_accents_raises_a_data_error():
    with pytest.raises(DataError, match="names-by-country"):
        dataset_text("names", keep_accents=True)
