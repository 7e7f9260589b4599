import pytest
import torch

from charloom.data import tokens
from charloom.data.batches import TextBatches
from charloom.data.tokens import encode_text, encode_text_file, token_dtype
from charloom.data.vocab import UnknownCharacterError, Vocab

TEXT = "Über den Fluß,\r\nthe quick brown fox — jumps.\n" * 7


def test_memmap_tokens_equal_in_memory_encoding_across_chunk_edges(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8", newline="")
    vocab = Vocab.from_texts([TEXT], boundary=False)
    for chunk in (1, 7, 1 << 20):
        stream = encode_text_file(tmp_path / "t.txt", vocab, tmp_path / "t.tokens", chunk_chars=chunk)
        assert stream.dtype == torch.uint8
        assert stream[:].long().tolist() == vocab.encode(TEXT)


def test_a_text_in_memory_is_encoded_in_chunks_to_its_smallest_integer_type(monkeypatch):
    vocab = Vocab.from_texts([TEXT], boundary=False)
    monkeypatch.setattr(tokens, "CHUNK_CHARS", 7)
    encoded = encode_text(TEXT, vocab)
    assert encoded.dtype == torch.uint8 and encoded.long().tolist() == vocab.encode(TEXT)
    assert len(encode_text("", vocab)) == 0
    with pytest.raises(UnknownCharacterError, match="'z'"):
        encode_text(TEXT + "z", vocab, where="the test file")


def test_memmap_and_in_memory_streams_give_identical_batches(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8", newline="")
    vocab = Vocab.from_texts([TEXT], boundary=False)
    mapped = TextBatches(encode_text_file(tmp_path / "t.txt", vocab, tmp_path / "t.tokens"), 16)
    memory = TextBatches(torch.tensor(vocab.encode(TEXT)), 16)
    a = mapped.sample(8, torch.Generator().manual_seed(3))
    b = memory.sample(8, torch.Generator().manual_seed(3))
    assert a[0].dtype == torch.long and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    for (x1, y1), (x2, y2) in zip(mapped.chunks(5), memory.chunks(5), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_a_token_file_indexes_as_its_tensor_does(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8", newline="")
    vocab = Vocab.from_texts([TEXT], boundary=False)
    tokens = encode_text_file(tmp_path / "t.txt", vocab, tmp_path / "t.tokens")
    tensor = torch.tensor(vocab.encode(TEXT), dtype=torch.uint8)
    windows = torch.tensor([[0], [5], [len(TEXT) - 9]]) + torch.arange(9)
    scattered = torch.tensor([[3, 1, 4], [len(TEXT) - 1, 0, 2]])
    singles = (torch.tensor([7, 2, 9]), torch.tensor(4))
    for index in (windows, scattered, *singles, slice(3, 20), slice(-5, None)):
        assert torch.equal(tokens[index], tensor[index]), index
    assert len(tokens) == len(tensor)
    with pytest.raises(IndexError):
        tokens[torch.tensor([len(TEXT)])]


def test_unknown_characters_are_named(tmp_path):
    (tmp_path / "t.txt").write_text("abcz", encoding="utf-8")
    with pytest.raises(UnknownCharacterError):
        encode_text_file(tmp_path / "t.txt", Vocab.from_texts(["abc"], boundary=False), tmp_path / "t.tokens")


def test_wide_vocabularies_take_wider_ids():
    assert [token_dtype(n).itemsize for n in (256, 257, 40000)] == [1, 2, 4]
