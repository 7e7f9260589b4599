"""Recurrent training watched through time: gate saturation and the gradient's reach."""

import random

import pytest
import torch

from charloom.api import train
from charloom.inspect.diagnostics.diagnose import diagnose
from charloom.inspect.diagnostics.recurrence import FAR, check_recurrence, recurrence_record
from charloom.inspect.diagnostics.watch import read_diagnostics
from charloom.io import load_tensors
from charloom.models.registry import build_model, make_config

QUIET = {"log": lambda message: None}
TINY = {"hidden": 12, "embedding": 6, "n_layer": 2, "dropout": 0.1}


@pytest.fixture
def text_file(tmp_path):
    rng = random.Random(1)
    text = "".join(rng.choice(["ab ", "ba\n", "cab "]) for _ in range(900))
    path = tmp_path / "text.txt"
    path.write_text(text)
    return path


def test_lstm_gates_and_reach_are_recorded_and_drawn_without_changing_the_run(text_file, tmp_path):
    options = dict(format="text", model_options=TINY, max_steps=20, batch_size=4, block_size=40, seed=3)
    train(text_file, "lstm", out=tmp_path / "watched", diagnostics_every=10, **options, **QUIET)
    train(text_file, "lstm", out=tmp_path / "plain", **options, **QUIET)
    a, _ = load_tensors(tmp_path / "watched" / "last.safetensors")
    b, _ = load_tensors(tmp_path / "plain" / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)  # watching draws nothing from the run's generators
    traced = [r for r in read_diagnostics(tmp_path / "watched") if "recurrence" in r]
    assert [r["step"] for r in traced] == [0, 10]
    gates = {(g["layer"], g["gate"]) for g in traced[0]["recurrence"]["gates"]}
    assert gates == {(k, name) for k in (0, 1) for name in ("input", "forget", "candidate", "output")}
    forget0 = next(g for g in traced[0]["recurrence"]["gates"] if g["gate"] == "forget")
    assert forget0["mean"] > 0.6  # forget bias 1 at init: sigmoid(1) = 0.73 on average
    reach = traced[0]["recurrence"]["reach"]
    assert len(reach) == 40 and reach[0] == pytest.approx(1.0)
    diagnosis = diagnose(tmp_path / "watched")
    assert diagnosis.plots["recurrence"].exists() and "gradient reaches" in diagnosis.report.read_text()


def test_a_recurrence_that_passes_nothing_back_is_reported_as_vanished():
    torch.manual_seed(0)
    model = build_model("rnn", make_config("rnn", {"hidden": 8, "embedding": 4, "n_layer": 1}), 6)
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()  # h_t no longer depends on h_(t-1)
    probe = torch.randint(6, (3, FAR + 8)), torch.randint(6, (3, FAR + 8))
    record = {"step": 5, "recurrence": recurrence_record(model, probe)}
    assert record["recurrence"]["reach"][1:] == [0.0] * (FAR + 7)
    [finding] = check_recurrence(record)
    assert finding.check == "vanishing-through-time" and finding.step == 5
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(torch.eye(8))  # the state passed on whole: the gradient reaches back
    record = {"step": 6, "recurrence": recurrence_record(model, probe)}
    assert record["recurrence"]["reach"][FAR] > 1e-3 and check_recurrence(record) == []


def test_families_without_recurrence_have_no_trace():
    model = build_model("transformer", make_config("transformer", {"n_embd": 8, "n_head": 2}), 6)
    assert recurrence_record(model, (torch.zeros(2, 5, dtype=torch.long),) * 2) is None
