"""Property tests: whatever comes in, the answer is a result or a CharloomError."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charloom.data.corpus import load_corpus
from charloom.data.splits import split_items
from charloom.data.vocab import Vocab
from charloom.errors import DataError, RunError, UnknownCharacterError
from charloom.io import load_tensors, save_tensors

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=10), st.booleans())
def test_vocab_round_trips_and_refuses_unknown_characters(texts, boundary):
    vocab = Vocab.from_texts(texts, boundary=boundary)
    for text in texts:
        ids = vocab.encode(text)
        assert vocab.decode(ids) == text
        assert all(0 <= i < vocab.size for i in ids)
        assert not boundary or 0 not in ids
    unseen = next(chr(c) for c in range(0x4E00, 0x9FFF) if chr(c) not in vocab)
    with pytest.raises(UnknownCharacterError):
        vocab.encode(texts[0] + unseen)
    assert Vocab.from_json(vocab.to_json()) == vocab


@FAST
@given(st.binary(max_size=300), st.sampled_from(["lines", "text"]))
def test_any_bytes_load_or_raise_data_error(data, fmt):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.txt"
        path.write_bytes(data)
        try:
            corpus = load_corpus(path, fmt)
        except DataError:
            return
        assert len(corpus) > 0
        if fmt == "lines":
            assert all(item and item == item.strip() and "\n" not in item for item in corpus.items)


@FAST
@given(
    st.lists(st.text(alphabet="abcde", min_size=1, max_size=4), min_size=2, max_size=40),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_splits_partition_deterministically_without_leaks(items, seed, dedup):
    try:
        splits = split_items(items, seed=seed, dedup=dedup)
    except DataError:
        assert len(set(items) if dedup else items) < 2
        return
    parts = splits.train + splits.val + splits.test
    expected = list(dict.fromkeys(items)) if dedup else items
    assert sorted(parts) == sorted(expected)
    assert splits.duplicates_dropped == len(items) - len(expected)
    if dedup:
        assert len(set(parts)) == len(parts)
    again = split_items(items, seed=seed, dedup=dedup)
    assert (again.train, again.val, again.test) == (splits.train, splits.val, splits.test)


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> bytes:
    import torch

    path = tmp_path_factory.mktemp("ck") / "ok.safetensors"
    save_tensors(path, {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(2)}, {"step": 3})
    return path.read_bytes()


@FAST
@given(data=st.data())
def test_damaged_checkpoints_raise_run_error_only(good_file, data):
    kind = data.draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=400))
    elif kind == "truncated":
        blob = good_file[: data.draw(st.integers(0, len(good_file) - 1))]
    else:
        index = data.draw(st.integers(0, len(good_file) - 1))
        blob = good_file[:index] + bytes([good_file[index] ^ 0xFF]) + good_file[index + 1 :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.safetensors"
        path.write_bytes(blob)
        try:
            tensors, meta = load_tensors(path)
        except RunError:
            return
        assert isinstance(tensors, dict) and isinstance(meta, dict)
