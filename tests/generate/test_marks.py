"""Novelty as a user means it: every sample marked train, held-out or new against the run's
own data, and --new keeping only items found in no split of it."""

from __future__ import annotations

import itertools
import json

import pytest

from charloom.api import train
from charloom.cli import main
from charloom.generate.samples import HELD_OUT, NEW, TRAIN


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    """Every string of 2 or 3 letters over a, b, c (36 items, 29 / 4 / 3 after the split),
    under a bigram: it writes items of every kind, remembered, held out and new."""
    items = ["".join(p) for n in (2, 3) for p in itertools.product("abc", repeat=n)]
    path = tmp_path_factory.mktemp("abc") / "abc.txt"
    path.write_text("\n".join(items) + "\n")
    return train(path, "ngram", out=path.parent / "run", model_options={"n": 2}, log=lambda m: None), path


def splits(run) -> tuple[set[str], set[str]]:
    return set(run.dir.split_lines("train")), set(run.dir.split_lines("val")) | set(
        run.dir.split_lines("test")
    )


def test_every_sample_is_marked_by_where_it_stands_in_the_data(small_world):
    run, _ = small_world
    train, held_out = splits(run)
    samples = run.sample(n=400, seed=0)
    for s in samples:
        expected = TRAIN if s.text in train else HELD_OUT if s.text in held_out else NEW
        assert s.seen == expected and s.new == (expected == NEW)
    marks = samples.marks()
    assert sum(marks.values()) == 400 and min(marks.values()) > 0
    assert f"{100 * marks[NEW] / 400:.0f}% new" in samples.summary()


def test_new_returns_no_line_of_the_users_file(small_world, capsys):
    run, path = small_world
    mine = set(path.read_text().split())
    assert main(["sample", str(run.path), "-n", "200", "--new", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 200
    for line in lines:
        item, mark, _ = line.split("\t")
        assert item not in mine and mark == NEW


def test_not_in_train_keeps_its_literal_meaning(small_world):
    run, _ = small_world
    train, held_out = splits(run)
    samples = run.sample(n=300, seed=1, not_in_train=True)
    assert not any(s.text in train for s in samples)
    assert any(s.seen == HELD_OUT for s in samples)  # real names the model never trained on


def test_json_and_the_training_log_carry_the_mark(small_world, tmp_path, capsys):
    run, path = small_world
    assert main(["sample", str(run.path), "-n", "5", "--seed", "2", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert all(item["seen"] in (TRAIN, HELD_OUT, NEW) for item in items)
    trained = train(
        path, "bigram", out=tmp_path / "b", max_steps=20, eval_every=10, num_samples=20, log=print
    )
    logged = trained.dir.read_samples()
    train_items, held_out = splits(trained)
    assert len(logged) == 60 and {s.seen for s in logged} <= {TRAIN, HELD_OUT, NEW}
    for s in logged:
        assert s.seen == (TRAIN if s.text in train_items else HELD_OUT if s.text in held_out else NEW)
    shown = capsys.readouterr().out
    assert "(train)" in shown  # the training log marks what the model remembers
