from __future__ import annotations

import pytest

from charloom.data.categories import load_categorized
from charloom.data.folding import fold_accents
from charloom.errors import DataError


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("zoë", "zoe"),
        ("søren", "soren"),
        ("straße", "strasse"),
        ("łukasz", "lukasz"),
        ("þór", "thor"),
        ("æsa", "aesa"),
        ("œuvre", "oeuvre"),
        ("đorđe", "dorde"),
        ("Øster", "Oster"),
    ],
)
def test_fold_accents(raw, folded):
    assert fold_accents(raw) == folded


def test_tsv_file_folds_accents_unless_kept(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("fr\tzoë\nfr\tzoe\nde\tjürgen\n\n", encoding="utf-8")
    assert load_categorized(path) == {"fr": ["zoe"], "de": ["jurgen"]}
    assert load_categorized(path, keep_accents=True) == {"fr": ["zoë", "zoe"], "de": ["jürgen"]}


def test_folder_one_file_per_category(tmp_path):
    (tmp_path / "italian.txt").write_text("mario\nluigi\n", encoding="utf-8")
    (tmp_path / "danish.txt").write_text("søren\n", encoding="utf-8")
    assert load_categorized(tmp_path) == {"danish": ["soren"], "italian": ["mario", "luigi"]}


def test_embedded_set_and_subset():
    data = load_categorized("fullnames-by-country", categories=["turkish", "italian"])
    assert list(data) == ["turkish", "italian"]
    assert all(" " in item for item in data["italian"][:20])
    accented = load_categorized("names-by-country", keep_accents=True, categories=["icelandic"])
    assert any(not item.isascii() for item in accented["icelandic"])


@pytest.mark.parametrize("text", ["no tab here\n", "\tname\n", ""])
def test_bad_lines_are_named(tmp_path, text):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError):
        load_categorized(path)


def test_unknown_category_names_the_known_ones():
    with pytest.raises(DataError, match="italian"):
        load_categorized("names-by-country", categories=["klingon"])
    with pytest.raises(DataError, match="no categories"):
        load_categorized("names")
