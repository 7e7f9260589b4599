"""python-stdlib: a code corpus built from the standard library's source on this machine,
once, into the cache (here a tiny stand-in tree, so the test reads no real stdlib)."""

from __future__ import annotations

import pytest

from charloom.api import train
from charloom.data import built
from charloom.data.corpus import load_corpus
from charloom.errors import DataError


@pytest.fixture
def fake_stdlib(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    for name, text in {
        "os.py": "import sys\n\ndef f(x):\n    return (x + 1)\n",
        "json/__init__.py": "'''json'''\nfrom .decoder import d\n",
        "json/decoder.py": "def d(s):\n    return {'s': [s]}\n",
        "test/test_os.py": "assert False\n",
        "site-packages/other.py": "x = 1\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(built, "stdlib_dir", lambda: root)
    monkeypatch.setenv("CHARLOOM_CACHE", str(tmp_path / "cache"))
    return root


def test_the_corpus_is_the_sources_in_order_tests_left_out(fake_stdlib, tmp_path):
    corpus = load_corpus("python-stdlib", "text")
    heads = [line for line in corpus.text.splitlines() if line.startswith("# file: ")]
    assert heads == ["# file: json/__init__.py", "# file: json/decoder.py", "# file: os.py"]
    assert "assert False" not in corpus.text and "x = 1" not in corpus.text
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and cached[0].read_text() == corpus.text
    (fake_stdlib / "os.py").write_text("changed = True\n")
    assert load_corpus("python-stdlib", "text").text == corpus.text  # built once, then read back


def test_it_is_running_text_and_trains(fake_stdlib, tmp_path):
    with pytest.raises(DataError, match="format text"):
        load_corpus("python-stdlib")
    run = train("python-stdlib", "bigram", format="text", out=tmp_path / "run", max_steps=5,
                num_samples=0, log=lambda m: None)  # fmt: skip
    assert run.info["data"]["source"] == "dataset:python-stdlib" and "(" in "".join(run.vocab.chars)
    assert built.build_python_stdlib(fake_stdlib, limit=60).count("# file: ") == 1  # cut at the limit
