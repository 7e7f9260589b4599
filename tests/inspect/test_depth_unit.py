"""A bracket-depth unit, as in Karpathy's Linux-source LSTM, found on a planted corpus:
brackets nest up to three deep and the letters at depth d come from the d-th alphabet,
so to predict the next letter the network must count how many brackets are open."""

from __future__ import annotations

import json
import random

import pytest
import torch

from charloom.api import train
from charloom.cli import main
from charloom.inspect.interpret.neurons import builtin_features, capture, discover
from charloom.models.registry import build_model, make_config

ALPHABETS = ("ab", "cd", "ef", "gh")  # the letters at depth 0, 1, 2, 3
OPTIONS = {"n_layer": 1, "hidden": 16, "embedding": 8, "dropout": 0.0}


def nested_text(seed: int, chars: int = 6000) -> str:
    """A random walk of ( and ) between depth 0 and 3, letters of the depth's alphabet
    between them, cut into lines of 60 (a bracket may stay open across lines)."""
    rng = random.Random(seed)
    depth, out = 0, []
    while len(out) < chars:
        u = rng.random()
        if u < 0.12 and depth < len(ALPHABETS) - 1:
            out.append("(")
            depth += 1
        elif u < 0.24 and depth > 0:
            out.append(")")
            depth -= 1
        else:
            out.append(rng.choice(ALPHABETS[depth]))
    text = "".join(out)
    return "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nested")
    data = folder / "nested.txt"
    data.write_text(nested_text(0), encoding="utf-8")
    run = train(
        data, "lstm", out=folder / "run", format="text", model_options=OPTIONS, max_steps=120,
        eval_every=120, batch_size=16, block_size=48, lr=1e-2, warmup_steps=20, seed=0, threads=1,
        log=lambda message: None,
    )  # fmt: skip
    heldout = folder / "heldout.txt"
    heldout.write_text(nested_text(100)[:1500], encoding="utf-8")
    return run, heldout


def best_depth_unit(model, vocab, text: str):
    trace = capture(model, vocab, text, "text")
    depth = builtin_features(trace.text)["bracket_depth"]
    return discover(trace, {"bracket_depth": depth})[0].units[0]


def test_neurons_discover_finds_a_bracket_depth_unit_on_held_out_text(depth_run, capsys):
    run, heldout = depth_run
    assert main(["neurons", str(run.path), "--text", str(heldout), "--discover", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    best = next(f for f in found["findings"] if f["feature"] == "bracket_depth")["units"][0]
    assert abs(best["r_heldout"]) >= 0.7, best
    assert found["interpretable"]["tracking"] >= 1


def test_the_same_network_untrained_has_no_such_unit(depth_run):
    """The unit is learnt: the inputs alone (the brackets) do not make one."""
    run, heldout = depth_run
    torch.manual_seed(0)
    untrained = build_model("lstm", make_config("lstm", OPTIONS, "text"), run.vocab.size)
    best = best_depth_unit(untrained, run.vocab, heldout.read_text())
    assert abs(best.r_heldout) < 0.7, best
