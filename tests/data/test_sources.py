"""Data from anywhere: folders, globs, compressed files, standard input, other encodings;
each read the same as the plain file would be, and each failure one line."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma

import pytest

from charloom.api import train
from charloom.cli import main
from charloom.data.corpus import load_corpus
from charloom.data.sources import read_source
from charloom.errors import DataError
from tiny_data import make_names

NAMES = ["zoë", "chloé", "renée", *make_names(30)]
QUIET = {"max_steps": 2, "num_samples": 0, "log": lambda m: None, "callbacks": []}


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_a_compressed_file_reads_as_the_plain_one(suffix, opener, plain, tmp_path):
    packed = tmp_path / f"names.txt{suffix}"
    with opener(packed, "wb") as out:
        out.write(plain.read_bytes())
    assert load_corpus(packed).items == load_corpus(plain).items == NAMES


def test_a_folder_reads_its_text_files_in_order_and_names_them(tmp_path):
    folder = tmp_path / "parts"
    (folder / "b").mkdir(parents=True)
    (folder / "a.txt").write_text("anna\nbob", encoding="utf-8")  # no final newline: not glued to the next
    (folder / "b" / "c.txt").write_text("zoë\n", encoding="utf-8")
    (folder / ".hidden").write_text("secret\n")
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02")
    source = read_source(str(folder))
    assert source.text.splitlines() == ["anna", "bob", "zoë"] and source.files == ["a.txt", "b/c.txt"]
    run = train(folder, "bigram", out=tmp_path / "run", **QUIET)
    assert run.info["data"]["files"] == ["a.txt", "b/c.txt"]


def test_a_glob_reads_the_files_it_matches_sorted(tmp_path):
    for name, text in (("2.txt", "bob\n"), ("1.txt", "anna\n"), ("x.csv", "no\n")):
        (tmp_path / name).write_text(text)
    assert load_corpus(str(tmp_path / "*.txt")).items == ["anna", "bob"]
    with pytest.raises(DataError, match="no file matches"):
        load_corpus(str(tmp_path / "*.tsv"))


def test_standard_input_is_a_source(plain, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(plain.read_bytes())))
    run = train("-", "bigram", out=tmp_path / "run", **QUIET)
    held = [item for split in ("train", "val", "test") for item in run.split_items(split)]
    assert run.info["data"]["source"] == "stdin" and sorted(held) == sorted(NAMES)


def test_another_encoding_is_read_when_named_and_refused_in_one_line_when_not(tmp_path, capsys):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("\n".join(NAMES).encode("latin-1"))
    assert main(["data", str(latin)]) == 2
    assert "is not utf-8 (byte" in capsys.readouterr().err
    assert load_corpus(latin, encoding="latin-1").items == NAMES
    run = train(latin, "bigram", out=tmp_path / "run", encoding="latin-1", **QUIET)
    assert "ë" in run.vocab and run.info["data"]["encoding"] == "latin-1"


def test_replaced_bytes_are_counted_and_reported(tmp_path):
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"anna\nzo" + b"\xeb\n" + "bob \ufffd\n".encode())  # one real U+FFFD
    source = read_source(str(broken), errors="replace")
    assert source.replaced == 1 and source.text.count("\ufffd") == 2
    run = train(broken, "bigram", out=tmp_path / "run", errors="replace", **QUIET)
    assert any("1 characters did not decode" in note for note in run.info["data"]["notes"])


def test_normalising_joins_the_two_spellings_of_a_letter(tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("zo\u00eb\nzoe\u0308\n", encoding="utf-8")  # one precomposed, one combining
    assert len(set(load_corpus(mixed).items)) == 2
    assert load_corpus(mixed, normalize="NFC").items == ["zo\u00eb", "zo\u00eb"]


def test_bad_reading_options_are_one_line(plain, capsys):
    for flags, message in (
        (["--encoding", "klingon"], "unknown --encoding"),
        (["--errors", "ignore"], "invalid choice"),
        (["--normalize", "NFD"], "invalid choice"),
    ):
        assert main(["data", str(plain), *flags]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    corrupt = plain.with_suffix(".gz")
    corrupt.write_bytes(b"not gzip at all")
    assert main(["data", str(corrupt)]) == 2
    assert "cannot decompress" in capsys.readouterr().err
    json.dumps(read_source(str(plain)).__dict__)
