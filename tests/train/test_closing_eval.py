"""The closing evaluation is bounded: past a cap, val and test are estimates over the
split's first characters with their standard error, and `charloom eval` stays exact."""

from __future__ import annotations

import random

from charloom.api import train
from charloom.train import loop
from tiny_data import make_names

QUIET = {"max_steps": 20, "num_samples": 0, "log": lambda m: None, "callbacks": []}


def test_a_long_split_gets_an_estimate_near_the_exact_figure(tmp_path, monkeypatch):
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far"]
    text = " ".join(rng.choice(words) for _ in range(12_000))
    (tmp_path / "text.txt").write_text(text)
    monkeypatch.setattr(loop, "CLOSING_EVAL_TARGETS", 1_500)
    logged = []
    options = {**QUIET, "log": logged.append, "format": "text", "model_options": {"hidden": 16}}
    run = train(tmp_path / "text.txt", "gru", out=tmp_path / "run", **options)
    status = run.info["status"]
    estimate = status["estimated"]["val"]
    exact = run.evaluate("val")
    assert exact["exact"] and estimate["targets"] < estimate["of"] == exact["tokens"]
    assert 0 < estimate["stderr"] < 0.2
    assert abs(status["val_nll"] - exact["nll"]) < 5 * estimate["stderr"] + 0.02
    assert any(line.startswith("done:") and "~" in line and " of " in line for line in logged)


def test_a_short_split_is_read_whole(tmp_path):
    (tmp_path / "names.txt").write_text("\n".join(make_names()) + "\n")
    run = train(tmp_path / "names.txt", "bigram", out=tmp_path / "run", **QUIET)
    assert "estimated" not in run.info["status"]
    assert run.info["status"]["val_nll"] == run.evaluate("val")["nll"]
