"""Train / validation / test splits.

Line mode: items are de-duplicated (by default), shuffled with a seeded generator that
is the same on every platform, and cut 80/10/10. A duplicate left in would let the
validation set quote the training set back. Text mode: contiguous parts of the one
text, in order, so no window of val or test was seen in training, cut 90/5/5: a
twentieth of a running text is still tens of thousands of characters, enough for a
steady figure, and every character held out is one not learned from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from charloom.errors import DataError

if TYPE_CHECKING:
    from charloom.data.text_stream import TextStream

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
TEXT_FRACTIONS = (0.9, 0.05, 0.05)


def default_fractions(fmt: str) -> tuple[float, float, float]:
    """The train/val/test cut of a corpus format when the caller names none."""
    return TEXT_FRACTIONS if fmt == "text" else DEFAULT_FRACTIONS


@dataclass
class Splits:
    train: list[str]
    val: list[str]
    test: list[str]
    duplicates_dropped: int = 0
    notes: list[str] = field(default_factory=list)
    # a text too large to hold: its splits are the characters before each end, written
    # from the file (text_stream.py) rather than held in the three lists
    streamed: TextStream | None = None
    ends: tuple[int, int, int] = (0, 0, 0)

    def sizes(self) -> dict[str, int]:
        if self.streamed is not None:
            return {"train": 1, "val": 1, "test": 1}  # one part each, as split_text gives
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def write_streamed(self, paths: dict[str, Path]) -> None:
        self.streamed.write_parts(list(self.ends), [paths[name] for name in ("train", "val", "test")])


SPLIT_KINDS = ("charloom", "lecture")


def check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"split fractions must be three numbers >= 0 that add up to 1, got {fractions}")
    if fractions[0] <= 0:
        raise DataError("the training fraction must be above 0")


def split_items(
    items: list[str],
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 42,
    dedup: bool = True,
) -> Splits:
    """Shuffle and cut a list of items.

    >>> s = split_items([f"n{i}" for i in range(10)] + ["n0"], seed=1)
    >>> s.sizes(), s.duplicates_dropped
    ({'train': 8, 'val': 1, 'test': 1}, 1)
    """
    check_fractions(fractions)
    unique = list(dict.fromkeys(items)) if dedup else list(items)
    dropped = len(items) - len(unique)
    order = list(range(len(unique)))
    random.Random(seed).shuffle(order)
    shuffled = [unique[i] for i in order]
    n_val = int(round(len(shuffled) * fractions[1]))
    n_test = int(round(len(shuffled) * fractions[2]))
    n_train = len(shuffled) - n_val - n_test
    if n_train < 1 or len(shuffled) < 2:  # one item (a one-character corpus) teaches nothing
        raise DataError(f"{len(shuffled)} distinct item(s) are too few to split; give at least 2")
    return Splits(
        train=shuffled[:n_train],
        val=shuffled[n_train : n_train + n_val],
        test=shuffled[n_train + n_val :],
        duplicates_dropped=dropped,
    )


def lecture_split(items: list[str]) -> Splits:
    """The split of the makemore notebooks, exactly: every line kept (repeats too), the list
    shuffled by ``random.seed(42); random.shuffle(words)``, then cut at int(0.8 n) and
    int(0.9 n). On the lectures' names.txt this gives their very train, dev and test sets,
    so their figures can be compared one for one."""
    words = list(items)
    random.Random(42).shuffle(words)  # the same permutation as seeding the module's generator
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    if n1 < 1:
        raise DataError(f"{len(words)} item(s) are too few to split; give at least 2")
    return Splits(train=words[:n1], val=words[n1:n2], test=words[n2:], notes=["the lectures' split"])


def text_ends(length: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Where the train, val and test parts of a text of ``length`` characters end."""
    check_fractions(fractions)
    n_train = int(length * fractions[0])
    n_val = int(length * fractions[1])
    if n_train < 2:
        raise DataError(f"a text of {length} characters is too short to train on")
    return n_train, n_train + n_val, length


def split_text(text: str, fractions: tuple[float, float, float] = TEXT_FRACTIONS) -> Splits:
    """Cut one text into contiguous train, val and test parts (in that order)."""
    train_end, val_end, _ = text_ends(len(text), fractions)
    return Splits(train=[text[:train_end]], val=[text[train_end:val_end]], test=[text[val_end:]])


def split_stream(stream: TextStream, fractions: tuple[float, float, float] = TEXT_FRACTIONS) -> Splits:
    """``split_text`` of a text read in chunks: the same cuts, written from the file."""
    return Splits([], [], [], streamed=stream, ends=text_ends(stream.length, fractions))
