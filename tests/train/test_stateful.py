"""Stateful truncated backpropagation for the recurrent families on running text, --epochs,
and the text defaults."""

import json
import random

import pytest
import torch

from charloom import Callback
from charloom.api import train
from charloom.data.streams import StreamBatches
from charloom.errors import CharloomError
from charloom.io import load_tensors
from charloom.models.likelihood import evaluate, nll
from charloom.models.registry import build_model, make_config
from cli_runner import run_cli

QUIET = {"log": lambda message: None}
TINY = {"hidden": 12, "embedding": 6, "n_layer": 2, "dropout": 0.0}


@pytest.fixture
def text_file(tmp_path):
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "ran"]
    text = "".join(" ".join(rng.choice(words) for _ in range(8)) + ".\n" for _ in range(250))
    path = tmp_path / "text.txt"
    path.write_text(text)
    return path


def test_each_row_reads_its_stretch_in_order_every_position_once_an_epoch():
    stream = torch.arange(103)
    batches = StreamBatches(stream, block=6, rows=4)  # stretches of 25 targets: windows 6,6,6,6,1
    assert batches.steps_per_epoch == 5
    inputs = torch.cat([batches.window(k)[0] for k in range(5)], dim=1)
    targets = torch.cat([batches.window(k)[1] for k in range(5)], dim=1)
    for row in range(4):
        assert inputs[row].tolist() == list(range(25 * row, 25 * row + 25))
        assert targets[row].tolist() == list(range(25 * row + 1, 25 * row + 26))
    assert [batches.starts_epoch(k) for k in range(11)] == [True] + [False] * 4 + [True] + [False] * 4 + [
        True
    ]
    assert torch.equal(batches.window(7)[0], batches.window(2)[0])  # epoch 2 reads the same windows


def test_evaluation_with_carried_state_equals_one_pass_over_the_text():
    torch.manual_seed(0)
    model = build_model("lstm", make_config("lstm", TINY), 11).eval()
    stream = torch.randint(11, (300,))
    windowed = evaluate(model, StreamBatches(stream, block=7))  # 43 windows, the state carried
    with torch.no_grad():
        whole = nll(model(stream[None, :-1])[0], stream[None, 1:]).item()
    assert windowed["tokens"] == 299
    assert windowed["nll"] == pytest.approx(whole, abs=1e-5)


class Recorder(Callback):
    """The weights and the carried state at the start of every step."""

    def __init__(self):
        self.steps = []

    def before_step(self, t, step):
        self.trainer = t
        weights = {k: v.clone() for k, v in t.model.state_dict().items()}
        carried = {k: v.clone() for k, v in t.state.carried.items()}
        self.steps.append((step, weights, carried, t.batches["train"].window(step)))


@pytest.mark.parametrize("family", ["gru", "lstm"])
def test_the_state_carried_into_window_k_plus_1_is_the_state_at_the_end_of_window_k(
    text_file, tmp_path, family
):
    recorder = Recorder()
    run = train(
        text_file, family, format="text", out=tmp_path / "run", model_options=TINY, max_steps=12,
        batch_size=4, block_size=16, callbacks=[recorder], **QUIET,
    )  # fmt: skip
    assert run.info["train"]["stateful"] is True
    model = build_model(family, make_config(family, TINY), run.vocab.size)
    train_batches = recorder.trainer.batches["train"]
    checked = 0
    for (step, weights, carried, (inputs, _)), (_, _, carried_next, _) in zip(
        recorder.steps, recorder.steps[1:], strict=False
    ):
        if train_batches.starts_epoch(step + 1):
            continue
        model.load_state_dict(weights)
        model.eval()  # dropout is 0; eval only so that nothing random can differ
        with torch.no_grad():
            _, after = model(inputs, carried)
        for name in after:
            assert torch.allclose(after[name], carried_next[name], atol=1e-6), (step, name)
        checked += 1
    assert checked >= 10
    first = recorder.steps[0][2]
    assert all(torch.count_nonzero(v) == 0 for v in first.values())  # an epoch starts from zeros


def test_a_new_epoch_starts_from_the_initial_state(text_file, tmp_path):
    recorder = Recorder()
    train(
        text_file, "gru", format="text", out=tmp_path / "run", model_options=TINY, epochs=2,
        batch_size=8, block_size=64, callbacks=[recorder], **QUIET,
    )  # fmt: skip
    per_epoch = recorder.trainer.batches["train"].steps_per_epoch
    assert len(recorder.steps) == 2 * per_epoch  # --epochs: every window of every row, twice
    second = recorder.steps[per_epoch][2]
    assert all(torch.count_nonzero(v) == 0 for v in second.values())
    assert any(torch.count_nonzero(v) > 0 for v in recorder.steps[per_epoch - 1][2].values())


def test_stateful_resume_is_bit_for_bit(text_file, tmp_path):
    options = dict(format="text", model_options=TINY, batch_size=4, block_size=16, eval_every=10, seed=5)
    train(text_file, "lstm", out=tmp_path / "once", max_steps=30, **options, **QUIET)
    train(text_file, "lstm", out=tmp_path / "twice", max_steps=15, **options, **QUIET)
    assert "carried.h" in load_tensors(tmp_path / "twice" / "state.safetensors")[0]
    train(None, out=tmp_path / "twice", resume=True, max_steps=30, **QUIET)
    a, _ = load_tensors(tmp_path / "once" / "last.safetensors")
    b, _ = load_tensors(tmp_path / "twice" / "last.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_no_stateful_draws_random_windows_and_the_run_evaluates_as_it_trained(text_file, tmp_path):
    run = train(
        text_file, "gru", format="text", out=tmp_path / "run", model_options=TINY, max_steps=20,
        batch_size=4, block_size=16, stateful=False, **QUIET,
    )  # fmt: skip
    assert run.info["train"]["stateful"] is False
    assert run.info["status"]["test_nll"] == pytest.approx(run.evaluate("test")["nll"], rel=1e-6)


def test_stateful_needs_a_recurrent_family_on_text(text_file, tmp_path):
    with pytest.raises(CharloomError, match="stateful needs a recurrent family"):
        train(text_file, "mlp", format="text", out=tmp_path / "a", max_steps=2, stateful=True, **QUIET)
    result = run_cli("train", str(text_file), "--model", "gru", "--stateful", "--max-steps", "2",
                     "--out", str(tmp_path / "b"))  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


def test_epochs_count_passes_over_the_training_split(names_file, tmp_path):
    run = train(names_file, "mlp", out=tmp_path / "run", epochs=2, batch_size=512, **QUIET)
    windows = sum(len(name) + 1 for name in run.split_items("train"))  # one example per target
    assert run.info["status"]["step"] == 2 * -(-windows // 512)


@pytest.mark.heavy
def test_text_without_model_options_trains_the_text_default_on_a_90_5_5_cut(text_file, tmp_path):
    result = run_cli("train", str(text_file), "--format", "text", "--max-steps", "3", "--json",
                     "--out", str(tmp_path / "run"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["model"]["family"] == "transformer"
    from charloom.models.transformer import Transformer

    for name, value in Transformer.text_defaults["model"].items():
        assert info["model"]["config"][name] == value
    n = len(text_file.read_text())
    sizes = {name: len((tmp_path / "run" / "data" / f"{name}.txt").read_text()) for name in ("train", "val")}
    assert sizes == {"train": int(0.9 * n), "val": int(0.05 * n)}
