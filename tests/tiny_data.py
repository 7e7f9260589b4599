"""Tiny data made by the tests: importable from any test folder (tests/ is on sys.path)."""

from __future__ import annotations

import random


def make_names(count: int = 400, seed: int = 0) -> list[str]:
    """Pronounceable made-up names: syllables with a few favourite endings, so that a model
    has real structure to learn in a few hundred steps."""
    rng = random.Random(seed)
    onsets = ["b", "d", "k", "l", "m", "n", "r", "s", "t", "v", "j", "el", "an"]
    vowels = ["a", "e", "i", "o", "u", "ia", "ea"]
    endings = ["a", "n", "lyn", "elle", "son", "ie", "o"]
    names = []
    for _ in range(count):
        name = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
        names.append(name + rng.choice(endings))
    return names
