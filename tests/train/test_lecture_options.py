"""What the lectures' experiments need: their split, a step schedule, the naive init, a
linear stack, the neural bigram from random weights, BatchNorm's momentum, and the loss of
every step in metrics.jsonl."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from charloom.api import train
from charloom.data.loading import split_batches
from charloom.errors import CharloomError
from charloom.models.bigram import Bigram, BigramConfig
from charloom.models.mlp import MLP, MLPConfig
from charloom.train.config import TrainConfig, parse_schedule
from charloom.train.optim import lr_at
from tiny_data import make_names

QUIET = {"log": lambda message: None, "num_samples": 0}


def test_the_lecture_split_is_the_notebooks_own(tmp_path):
    names = make_names()[:300] + ["anna", "anna"]  # repeats are kept, as the notebooks keep them
    path = tmp_path / "names.txt"
    path.write_text("\n".join(names) + "\n")
    run = train(path, "bigram", out=tmp_path / "r", split="lecture", max_steps=1, **QUIET)
    words = list(names)
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    assert run.dir.split_lines("train") == words[:n1]
    assert run.dir.split_lines("val") == words[n1:n2] and run.dir.split_lines("test") == words[n2:]


def test_a_step_schedule_sets_the_rate_by_step():
    schedule = parse_schedule("0:0.1,100:0.01")
    assert [lr_at("sgd", 0.5, 0.9, step, 0, schedule) for step in (0, 99, 100, 5000)] == [
        0.1,
        0.1,
        0.01,
        0.01,
    ]
    for bad in ("100:0.1", "0:0.1,0:0.2", "0:-1", "0-0.1", "0:0.1,50"):
        with pytest.raises(CharloomError, match="lr_schedule"):
            TrainConfig(lr_schedule=bad)


def test_the_schedule_is_what_training_used(tmp_path, names_file):
    run = train(names_file, "mlp", out=tmp_path / "s", optimizer="sgd", lr_schedule="0:0.1,20:0.01",
                max_steps=30, eval_every=10, **QUIET)  # fmt: skip
    metrics = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [m["lr"] for m in metrics] == [0.1, 0.1, 0.01, 0.01]  # after steps 0, 10, 20, 30
    assert [len(m["step_losses"]) for m in metrics] == [0, 10, 10, 10]  # every step's loss
    assert metrics[-1]["train_loss"] == pytest.approx(sum(metrics[-1]["step_losses"]) / 10, abs=1e-3)


def test_the_naive_init_starts_confidently_wrong_and_the_fixes_fix_it():
    torch.manual_seed(0)
    naive = MLP(
        MLPConfig(by_fan_in=False, input_gain=1.0, output_scale=1.0, bias_std=1.0, output_bias_std=1.0), 27
    )
    torch.manual_seed(0)
    fixed = MLP(MLPConfig(), 27)
    windows = torch.randint(0, 27, (2000, 3))
    targets = torch.randint(0, 27, (2000,))
    loss = lambda m: float(torch.nn.functional.cross_entropy(m.forward_window(windows), targets).detach())  # noqa: E731
    assert loss(naive) > 10 and abs(loss(fixed) - math.log(27)) < 0.1
    assert float(naive.hidden[0].bias.detach().std()) == pytest.approx(1.0, abs=0.15)
    assert float(naive.hidden[0].weight.detach().std()) == pytest.approx(1.0, abs=0.05)  # no 1/sqrt(fan_in)


def test_a_linear_stack_grows_or_shrinks_with_its_gain():
    windows = torch.randint(0, 27, (500, 3))
    for gain, grows in ((5 / 3, True), (0.5, False)):
        torch.manual_seed(0)
        model = MLP(MLPConfig(activation="linear", n_layer=5, hidden=100, gain=gain), 27)
        assert not any(isinstance(m, torch.nn.Tanh) for m in model.modules())
        x = model.embedding(windows).flatten(1)
        stds = []
        for layer in model.hidden:
            x = layer(x)
            stds.append(float(x.detach().std()))
        assert (stds[-1] > 3 * stds[0]) if grows else (stds[-1] < stds[0] / 3)


def test_the_bigram_from_random_weights_and_batchnorm_momentum():
    torch.manual_seed(0)
    assert float(Bigram(BigramConfig(init="random"), 27).logits.detach().std()) == pytest.approx(1.0, abs=0.1)
    assert float(Bigram(BigramConfig(), 27).logits.detach().abs().max()) == 0.0
    model = MLP(MLPConfig(batchnorm=True, bn_momentum=0.001), 27)
    assert model.hidden[1].momentum == 0.001
    for bad in ({"activation": "relu6"}, {"bn_momentum": 0.0}, {"bias_std": -1.0}):
        with pytest.raises(CharloomError):
            MLPConfig(**bad)
    with pytest.raises(CharloomError, match="^init must be one of"):
        BigramConfig(init="ones")


def test_batchnorm_calibrated_on_the_whole_training_set(tmp_path, names_file):
    from charloom.models.layers import BatchNorm1d

    run = train(names_file, "mlp", out=tmp_path / "bn", max_steps=30, eval_every=30, calibrate_batchnorm=True,
                model_options={"batchnorm": True, "bn_momentum": 0.001, "hidden": 16}, **QUIET)  # fmt: skip
    model, vocab = run.model, run.vocab
    norm = next(m for m in model.modules() if isinstance(m, BatchNorm1d))
    paths = run.dir.split_paths()
    batches = split_batches(paths, vocab, "lines", model.training_layout, model.context_size)["train"]
    captured = []
    handle = norm.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    with torch.no_grad():
        for inputs, _ in batches.chunks(10**9):
            model(inputs, layout=batches.layout)
    handle.remove()
    pre = torch.cat(captured)
    assert torch.allclose(norm.running_mean, pre.mean(0), atol=1e-4)  # the whole split, not a lagging average
    assert torch.allclose(norm.running_var, pre.var(0), rtol=1e-3, atol=1e-4)


def test_the_saturation_threshold_is_an_option():
    from charloom.inspect.diagnostics.hooks import summarize_layer

    x = torch.tanh(torch.randn(1000, 50) * 2)
    at_97 = summarize_layer([x], [], "tanh")["act"]["saturated"]
    at_99 = summarize_layer([x], [], "tanh", saturation=0.99)["act"]["saturated"]
    assert at_99 < at_97 and at_99 == pytest.approx(float((x.abs() > 0.99).float().mean()), abs=1e-3)
    with pytest.raises(CharloomError):
        TrainConfig(saturation=1.5)
