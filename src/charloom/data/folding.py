"""Fold accented letters to plain a-z, the way the embedded categorized sets were folded.

A model trained on folded names has never seen 'ë', so a seed typed with accents must be
folded the same way before it reaches the model. NFKD splits 'ë' into 'e' plus a
combining mark, which is dropped; the few letters that do not decompose (ß, ø, æ, ...)
go through a small table first. This is the table of ``scripts/build_categorized_names.py``.

>>> fold_accents("zoë øster ßara")
'zoe oster ssara'
"""

from __future__ import annotations

import unicodedata

_LOWER = {
    "ß": "ss",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
    "ŀ": "l",
    "ħ": "h",
    "ŧ": "t",
    "ŋ": "n",
    "ĸ": "k",
    "ſ": "s",
}
# capitals fold to capitals ('Ø' -> 'O', 'Æ' -> 'Ae'); ß, ı, ĸ and ſ have no capital of their own
SPECIAL_LETTERS = str.maketrans(
    {
        **_LOWER,
        **{k.upper(): v.capitalize() for k, v in _LOWER.items() if k.upper() != k and len(k.upper()) == 1},
    }
)


def fold_accents(text: str) -> str:
    """The text with accents dropped: NFKD, combining marks removed, the table above first."""
    decomposed = unicodedata.normalize("NFKD", text.translate(SPECIAL_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


__all__ = ["fold_accents"]
