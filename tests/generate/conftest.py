"""Runs trained once per test session for the generation tests, tiny and quick: an MLP
trained for a hundred-odd steps and a count trigram, on 600 real first names."""

from __future__ import annotations

import random

import pytest

from charloom.api import train
from charloom.data.corpus import load_corpus

QUIET = {"log": lambda message: None}


@pytest.fixture(scope="session")
def names_path(tmp_path_factory):
    names = random.Random(0).sample(load_corpus("names").items, 600)
    path = tmp_path_factory.mktemp("gen-data") / "names.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def mlp_run(names_path, tmp_path_factory):
    return train(
        names_path,
        "mlp",
        out=tmp_path_factory.mktemp("gen") / "mlp",
        max_steps=150,
        eval_every=150,
        num_samples=0,
        model_options={"hidden": 64, "embedding": 8},
        **QUIET,
    )


@pytest.fixture(scope="session")
def trigram_run(names_path, tmp_path_factory):
    return train(
        names_path,
        "ngram",
        out=tmp_path_factory.mktemp("gen") / "trigram",
        model_options={"n": 3, "smoothing": 0.1},
        **QUIET,
    )
