"""A tiny run group: two made-up languages with different consonants, trained as
trigram models (counting, so in well under a second)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from charloom.transfer.group import train_group


def made_up(onsets: list[str], endings: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vowels = ["a", "e", "i", "o", "u"]
    names = set()
    while len(names) < count:
        body = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
        names.add(body + rng.choice(endings))
    return sorted(names)


@pytest.fixture(scope="session")
def categorized_file(tmp_path_factory) -> Path:
    """'hard' names (k, t, z) and 'soft' names (l, m, n), 250 each, as category<TAB>item; a
    few names shared by both give them one alphabet, so either can continue the start of the other's names."""
    shared = ["zarkelis", "sulmatrek"]
    hard = made_up(["k", "t", "z", "kr"], ["k", "tz", "ak"], 250, 1) + shared
    soft = made_up(["l", "m", "n", "s"], ["elle", "ina", "an"], 250, 2) + shared
    path = tmp_path_factory.mktemp("cat") / "langs.tsv"
    lines = [f"hard\t{n}" for n in hard] + [f"soft\t{n}" for n in soft]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def group(categorized_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("group") / "g"
    return train_group(categorized_file, "ngram", out=out, model_options={"n": 3}, log=lambda m: None)


@pytest.fixture(scope="session")
def conditional_group(categorized_file, tmp_path_factory):
    """The same two languages as one GRU told the category by a token (a few hundred steps)."""
    out = tmp_path_factory.mktemp("conditional") / "g"
    return train_group(
        categorized_file,
        "gru",
        out=out,
        condition="category",
        log=lambda m: None,
        model_options={"hidden": 32, "n_layer": 1, "embedding": 16, "dropout": 0.0},
        max_steps=300,
        eval_every=300,
        num_samples=0,
        lr=1e-2,
    )
