"""A small LSTM trained once on text with a planted feature: inside quotes the words use
another alphabet, so to predict the next letter the network must remember whether a
quote is open, which is the quote cell of Karpathy's post."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from browser import browser_or_skip
from charloom.api import train
from charloom.run import Run

OUTSIDE, INSIDE = "abcdefgh", "pqrstuvw"


@pytest.fixture
def browser_api():
    """Playwright's sync API and Debian's Chromium, or a skip that says what to install."""
    return browser_or_skip()


def quoted_text(seed: int, words: int = 600) -> str:
    """Lower words from one alphabet; about one in seven a quotation of 2-5 words from another."""
    rng = random.Random(seed)

    def word(alphabet: str) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 5)))

    parts = []
    for _ in range(words):
        if rng.random() < 0.15:
            parts.append('"' + " ".join(word(INSIDE) for _ in range(rng.randint(2, 5))) + '"')
        else:
            parts.append(word(OUTSIDE))
    text = " ".join(parts)
    return "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"


@pytest.fixture(scope="session")
def quote_run(tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("quotes")
    data = folder / "quotes.txt"
    data.write_text(quoted_text(0), encoding="utf-8")
    return train(
        data,
        "lstm",
        out=folder / "run",
        format="text",
        model_options={"n_layer": 1, "hidden": 16, "embedding": 8, "dropout": 0.0},
        max_steps=120,
        eval_every=60,
        batch_size=16,
        block_size=48,
        lr=1e-2,
        warmup_steps=20,
        seed=0,
        threads=1,
        log=lambda message: None,
    )


@pytest.fixture(scope="session")
def heldout_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("heldout") / "heldout.txt"
    path.write_text(quoted_text(100)[:800], encoding="utf-8")
    return path
