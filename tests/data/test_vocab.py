import pytest

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import UnknownCharacterError


def test_sorted_alphabet_with_boundary_zero():
    vocab = Vocab.from_texts(["emma", "bob"])
    assert vocab.chars == ["a", "b", "e", "m", "o"]
    assert vocab.size == 6
    assert vocab.encode("a") == [1]
    assert BOUNDARY_ID not in vocab.encode("emma")


def test_decode_drops_boundary_and_round_trips():
    vocab = Vocab.from_texts(["emma", "bob"])
    ids = [0, *vocab.encode("bemo"), 0]
    assert vocab.decode(ids) == "bemo"


def test_json_round_trip_keeps_equality():
    vocab = Vocab.from_texts(["zoë", "al"], boundary=False)
    again = Vocab.from_json(vocab.to_json())
    assert again == vocab
    assert again.encode("zoë") == vocab.encode("zoë")


def test_unknown_character_is_named():
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(UnknownCharacterError) as info:
        vocab.encode("abX", where="prefix")
    assert "'X'" in str(info.value) and "prefix" in str(info.value)


def test_text_mode_has_no_boundary():
    vocab = Vocab.from_texts(["ab"], boundary=False)
    assert vocab.size == 2 and vocab.encode("a") == [0]
