"""Shared fixtures: tiny data made here, and ways to run the CLI."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest
import torch

from cli_runner import run_cli
from tiny_data import make_names

torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")  # and the CLI runs that the tests start: tiny models
# No test touches the network or a developer's cache: a fetch goes to a closed loopback port
# (tests/data/test_fetched.py serves its own), into a cache of this session's own.
os.environ["CHARLOOM_MIRROR"] = "http://127.0.0.1:9"
os.environ["CHARLOOM_CACHE"] = tempfile.mkdtemp(prefix="charloom-cache-")


@pytest.fixture
def names() -> list[str]:
    return make_names()


@pytest.fixture
def names_file(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    rng = random.Random(1)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) + "." for _ in range(300)]
    path = tmp_path / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cli():
    return run_cli


def pytest_collection_modifyitems(items):
    """A test that starts `python -m charloom` in a fresh process is slow: `make test-fast`
    (``-m "not slow"``) leaves it out, while `make test` and CI run it.

    The heavy tests go first: the workers of pytest-xdist, handed one test at a time
    (``--maxschedchunk 1``), then start the longest while the rest remain to even out their
    ends, rather than one worker finishing a minute-long test alone at the end."""
    for item in items:
        if "cli" in item.fixturenames:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: else as collected
