"""A large text read in chunks gives the run a text read at once would: the same split
files, byte for byte, the same fingerprint and vocabulary, and the same one-line errors."""

from __future__ import annotations

import gzip
import json

import pytest

from charloom.api import train
from charloom.data import text_stream
from charloom.data.corpus import load_corpus
from charloom.errors import DataError

# multi-byte characters, a byte-order mark, CRLF line ends, and a character outside the
# BMP, so that a chunk boundary can fall anywhere
TEXT = "\ufeff" + "".join(f"Zoë and Chloé 🎭 met {n} times.\r\nThe end, ça va?\n" for n in range(60))
QUIET = {"format": "text", "max_steps": 2, "num_samples": 0, "log": lambda m: None, "callbacks": []}


def trained(path, out, streamed, monkeypatch):
    monkeypatch.setattr(text_stream, "STREAM_BYTES", 0 if streamed else 1 << 40)
    monkeypatch.setattr(text_stream, "CHUNK_CHARS", 7)  # boundaries inside lines and characters
    return train(path, "bigram", out=out, **QUIET)


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz"])
def test_a_streamed_text_makes_the_run_a_whole_read_makes(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"big{suffix}"
    data = TEXT.encode("utf-8")
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    whole = trained(path, tmp_path / "whole", False, monkeypatch)
    streamed = trained(path, tmp_path / "streamed", True, monkeypatch)
    for split in ("train", "val", "test"):
        expected = (whole.path / "data" / f"{split}.txt").read_bytes()
        assert (streamed.path / "data" / f"{split}.txt").read_bytes() == expected, split
    info = [json.loads((run.path / "run.json").read_text()) for run in (whole, streamed)]
    assert info[0]["data"] == info[1]["data"] and info[0]["vocab"] == info[1]["vocab"]
    assert "🎭" in info[1]["vocab"]["chars"] and "\ufeff" not in info[1]["vocab"]["chars"]
    assert streamed.evaluate("test")["nll"] == pytest.approx(whole.evaluate("test")["nll"], abs=1e-6)


def test_only_one_large_strict_file_is_streamed(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text(TEXT, encoding="utf-8")
    monkeypatch.setattr(text_stream, "STREAM_BYTES", 0)
    assert load_corpus(path, "text", stream=True).stream is not None
    assert load_corpus(path, "text").stream is None  # the caller asks for it
    assert load_corpus(path, "text", stream=True, errors="replace").stream is None
    assert load_corpus(path, "text", stream=True, normalize="NFC").stream is None
    assert load_corpus(tmp_path, "text", stream=True).stream is None  # a folder: read at once
    monkeypatch.setattr(text_stream, "STREAM_BYTES", 1 << 40)
    assert load_corpus(path, "text", stream=True).stream is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (TEXT.encode("utf-8") + b"\xff\xfe tail", "is not utf-8"),
        (b"   \n\n  \t\n" * 10, "has no text"),
        (b"\x00\x01binary" * 10, "looks binary"),
    ],
)
def test_a_bad_streamed_file_is_one_line(tmp_path, monkeypatch, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    monkeypatch.setattr(text_stream, "STREAM_BYTES", 0)
    monkeypatch.setattr(text_stream, "CHUNK_CHARS", 7)
    with pytest.raises(DataError, match=message):
        train(path, "bigram", out=tmp_path / "run", **QUIET)
    assert not (tmp_path / "run").exists()


def test_charloom_data_reads_a_large_text_in_chunks_and_reports_what_a_whole_read_does(
    tmp_path, monkeypatch, capsys
):
    from charloom.cli.app import main

    path = tmp_path / "big.txt"
    path.write_text(TEXT + "a last line with no end", encoding="utf-8", newline="")
    reports = []
    for streamed in (False, True):
        monkeypatch.setattr(text_stream, "STREAM_BYTES", 0 if streamed else 1 << 40)
        monkeypatch.setattr(text_stream, "CHUNK_CHARS", 7)  # lines and "\r\n" cut between chunks
        assert main(["data", str(path), "--format", "text", "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    whole, streamed = reports
    assert streamed == whole
    text = TEXT.removeprefix("\ufeff") + "a last line with no end"
    assert whole["lines"] == len(text.splitlines()) == 121 and whole["characters"] == len(text)
    assert whole["length_histogram"][str(len("a last line with no end"))] == 1
