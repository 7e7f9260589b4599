"""Characters <-> integer ids.

In line mode (one item per line) id 0 is the boundary token: it starts every item
as context and ends it as the last target, so a model learns where names begin and
end (the '.' of the makemore lectures). In text mode there is no boundary and the
ids are just the sorted characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from charloom.errors import CharloomError, UnknownCharacterError

BOUNDARY_ID = 0
BOUNDARY_SYMBOL = "."  # how the boundary is shown to people, as in the lectures


class Vocab:
    """The sorted alphabet of a corpus, with id 0 reserved for the boundary in line mode.

    >>> v = Vocab.from_texts(["emma", "ava"])
    >>> v.encode("ava"), v.decode([1, 5, 1])
    ([1, 5, 1], 'ava')
    """

    def __init__(self, chars: Sequence[str], boundary: bool = True):
        chars = list(chars)
        if any(len(c) != 1 for c in chars):
            raise CharloomError("a vocabulary holds single characters only")
        if len(set(chars)) != len(chars):
            raise CharloomError("a vocabulary cannot hold the same character twice")
        if not chars:
            raise CharloomError("a vocabulary needs at least one character")
        self.chars: list[str] = sorted(chars)
        self.boundary = boundary
        offset = 1 if boundary else 0
        self._ids = {c: i + offset for i, c in enumerate(self.chars)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], boundary: bool = True) -> Vocab:
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        return cls(sorted(seen), boundary=boundary)

    @property
    def size(self) -> int:
        return len(self.chars) + (1 if self.boundary else 0)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, char: str) -> bool:
        return char in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars and self.boundary == other.boundary

    def __repr__(self) -> str:
        return f"Vocab(size={self.size}, chars={''.join(self.chars)!r}, boundary={self.boundary})"

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of ``text`` that this vocabulary cannot encode, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._ids))

    def check(self, text: str, where: str = "input") -> None:
        unknown = self.unknown_chars(text)
        if unknown:
            raise UnknownCharacterError(unknown[0], text, where)

    def encode(self, text: str, where: str = "input") -> list[int]:
        try:
            return [self._ids[c] for c in text]
        except KeyError:
            self.check(text, where)
            raise

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text; boundary ids are dropped."""
        offset = 1 if self.boundary else 0
        return "".join(self.chars[i - offset] for i in ids if not (self.boundary and i == 0))

    def symbol(self, token_id: int) -> str:
        """How one id is shown to a person: the boundary as '.', other ids as their character."""
        if self.boundary and token_id == BOUNDARY_ID:
            return BOUNDARY_SYMBOL
        return self.chars[token_id - (1 if self.boundary else 0)]

    def to_json(self) -> dict:
        return {"chars": "".join(self.chars), "boundary": self.boundary}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        try:
            return cls(list(data["chars"]), boundary=bool(data["boundary"]))
        except (KeyError, TypeError) as exc:
            raise CharloomError(f"a vocabulary record is malformed ({exc})") from None
