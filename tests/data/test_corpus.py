import pytest

from charloom.data.corpus import load_corpus
from charloom.errors import DataError


def test_lines_are_stripped_and_blank_lines_skipped(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("emma\r\n\n  ava \nmia\n", encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.items == ["emma", "ava", "mia"]
    assert len(corpus.fingerprint) == 64


def test_text_mode_keeps_the_text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    assert load_corpus(path, "text").text == "hello\nworld\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "no items"),
        (b"   \n\t\n", "no items"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (b"caf\xe9\n", "not utf-8"),
    ],
    ids=["empty", "whitespace", "binary", "latin-1"],
)
def test_bad_files_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_corpus(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_corpus(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="folder"):
        load_corpus(tmp_path)


def test_a_long_line_suggests_text_format(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("x" * 5000, encoding="utf-8")
    with pytest.raises(DataError, match="format text"):
        load_corpus(path)
