import json
import math

import pytest
import torch

from charloom.api import train
from charloom.data.batches import WindowBatches, encode_items
from charloom.data.vocab import Vocab
from charloom.io import load_tensors
from charloom.models.likelihood import nll
from charloom.models.registry import build_model, make_config
from charloom.run import load_run

QUIET = {"log": lambda message: None}


@pytest.mark.parametrize(
    "family, options",
    [
        ("bigram", {}),
        ("mlp", {}),
        ("mlp", {"batchnorm": True}),
        ("mlp", {"n_layer": 4, "hidden": 50, "batchnorm": True}),
    ],
)
def test_step_zero_loss_is_near_ln_vocab(names, family, options):
    vocab = Vocab.from_texts(names)
    torch.manual_seed(0)
    model = build_model(family, make_config(family, options), vocab.size)
    batches = WindowBatches(encode_items(names, vocab), model.context_size)
    model.train()
    loss = nll(model.forward_window(batches.windows[:2000]), batches.targets[:2000])
    assert abs(loss.item() - math.log(vocab.size)) < 0.1


def test_training_lowers_val_loss_and_writes_a_complete_run(names_file, tmp_path):
    run = train(names_file, "mlp", out=tmp_path / "run", max_steps=200, eval_every=100, **QUIET)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 100, 200]
    assert metrics[-1]["val_loss"] < metrics[0]["val_loss"] - 0.5
    assert metrics[-1]["tokens_per_s"] > 0
    for name in ("run.json", "model.safetensors", "last.safetensors", "state.safetensors", "samples.txt"):
        assert (tmp_path / "run" / name).exists()
    assert run.info["status"]["state"] == "finished"
    assert run.info["status"]["test_nll"] == pytest.approx(run.evaluate("test")["nll"], rel=1e-5)


@pytest.mark.parametrize("ema, device", [(0.0, "auto"), (0.9, "auto"), (0.0, "cpu")])
def test_resume_is_bit_for_bit(names_file, tmp_path, ema, device):
    options = dict(max_steps=120, eval_every=30, batch_size=16, seed=7, ema=ema, device=device, **QUIET)
    train(names_file, "mlp", out=tmp_path / "once", model_options={"batchnorm": True}, **options)
    half = {**options, "max_steps": 60}
    train(names_file, "mlp", out=tmp_path / "twice", model_options={"batchnorm": True}, **half)
    train(None, out=tmp_path / "twice", resume=True, max_steps=120, device=device, **QUIET)
    for name in ("last.safetensors", "model.safetensors"):
        a, _ = load_tensors(tmp_path / "once" / name)
        b, _ = load_tensors(tmp_path / "twice" / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    assert (tmp_path / "once" / "metrics.jsonl").read_text().count("\n") == (
        tmp_path / "twice" / "metrics.jsonl"
    ).read_text().count("\n")


def test_same_seed_same_numbers(names_file, tmp_path):
    def metrics(out):
        train(names_file, "mlp", out=out, max_steps=60, eval_every=20, seed=3, **QUIET)
        return [
            {k: v for k, v in json.loads(line).items() if k not in ("tokens_per_s", "train_seconds")}
            for line in (out / "metrics.jsonl").read_text().splitlines()
        ]

    assert metrics(tmp_path / "a") == metrics(tmp_path / "b")
    assert (tmp_path / "a" / "samples.txt").read_text() == (tmp_path / "b" / "samples.txt").read_text()


def test_ngram_is_fitted_by_counting_and_matches_counts(names_file, tmp_path):
    run = train(names_file, "ngram", out=tmp_path / "ng", model_options={"n": 2, "smoothing": 1.0}, **QUIET)
    train_items = run.split_items("train")
    vocab = run.vocab
    counts = torch.ones(vocab.size, vocab.size)
    for seq in encode_items(train_items, vocab):
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            counts[a, b] += 1
    expected = torch.log(counts / counts.sum(1, keepdim=True))
    got = run.model.forward_window(torch.arange(vocab.size)[:, None])
    assert torch.allclose(got, expected, atol=1e-5)
    assert run.info["status"]["step"] == 0


def test_an_existing_run_is_not_replaced_without_force(names_file, tmp_path):
    from charloom.errors import CharloomError

    train(names_file, "bigram", out=tmp_path / "r", max_steps=5, **QUIET)
    with pytest.raises(CharloomError, match="use resume to continue it, force to replace it"):
        train(names_file, "bigram", out=tmp_path / "r", max_steps=5, **QUIET)
    train(names_file, "bigram", out=tmp_path / "r", max_steps=5, force=True, **QUIET)


def test_text_mode_trains_on_windows(text_file, tmp_path):
    run = train(text_file, "mlp", out=tmp_path / "t", format="text", max_steps=150, eval_every=50, **QUIET)
    assert not run.vocab.boundary
    assert run.evaluate("val")["nll"] < math.log(run.vocab.size) - 0.5
    sample = run.sample(n=1, prefix="the ", max_new_tokens=40, seed=0)[0]
    assert sample.text.startswith("the ") and len(sample.text) == 44


def test_nan_loss_stops_and_keeps_the_checkpoint(names_file, tmp_path):
    from charloom.errors import TrainingDiverged

    with pytest.raises(TrainingDiverged, match="last checkpoint"):
        train(
            names_file,
            "mlp",
            out=tmp_path / "nan",
            max_steps=50,
            lr=1e30,
            grad_clip=None,
            optimizer="sgd",
            **QUIET,
        )
    assert load_run(tmp_path / "nan", weights="last") is not None


def test_resume_from_the_step_zero_checkpoint_does_not_evaluate_step_zero_twice(
    names_file, tmp_path, monkeypatch
):
    from charloom.train.loop import Trainer

    options = dict(max_steps=20, eval_every=10, seed=5, **QUIET)
    train(names_file, "bigram", out=tmp_path / "once", **options)
    original = Trainer.save_checkpoint

    def save_then_die(self):
        original(self)
        raise SystemExit("killed right after the first checkpoint")

    monkeypatch.setattr(Trainer, "save_checkpoint", save_then_die)
    with pytest.raises(SystemExit):
        train(names_file, "bigram", out=tmp_path / "killed", **options)
    monkeypatch.setattr(Trainer, "save_checkpoint", original)
    train(None, out=tmp_path / "killed", resume=True, **QUIET)

    def steps(out):
        return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]

    assert steps(tmp_path / "killed") == steps(tmp_path / "once") == [0, 10, 20]


def test_a_weight_average_follows_its_recurrence_and_copies_buffers():
    from charloom.train.averaging import WeightAverage

    torch.manual_seed(0)
    model = build_model("mlp", make_config("mlp", {"batchnorm": True}), 5)
    average = WeightAverage(model, decay=0.5)
    expected = [p.detach().clone() for p in model.parameters()]
    for t in range(12):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
            for b in model.buffers():
                b.add_(1)
        decay = min(0.5, (1 + t) / (10 + t))  # warm-up from 0.1; the decay 0.5 itself from t = 9
        live = [p.detach() for p in model.parameters()]
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, live, strict=True)]
        average.update(model)
    for got, want in zip(average.model.parameters(), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    for got, live in zip(average.model.buffers(), model.buffers(), strict=True):
        assert torch.equal(got, live)
    assert not any(p.requires_grad for p in average.model.parameters())


def test_with_ema_the_saved_model_is_the_average_and_training_goes_on_with_the_raw_weights(
    names_file, tmp_path
):
    run = train(names_file, "mlp", out=tmp_path / "ema", max_steps=80, eval_every=80, ema=0.95, **QUIET)
    best, _ = load_tensors(tmp_path / "ema" / "model.safetensors")
    last, _ = load_tensors(tmp_path / "ema" / "last.safetensors")
    state, meta = load_tensors(tmp_path / "ema" / "state.safetensors")
    assert meta["average_updates"] == 80
    assert run.info["status"]["best_step"] == 80
    for key in best:
        assert torch.equal(best[key], state[f"average.{key}"]), key
        assert torch.equal(last[key], state[f"model.{key}"]), key
    assert any(not torch.equal(best[key], last[key]) for key in best)
    assert run.info["train"]["ema"] == 0.95


def test_ema_outside_zero_to_one_is_refused(names_file, tmp_path):
    from charloom.errors import CharloomError

    with pytest.raises(CharloomError, match="^ema must be below 1"):
        train(names_file, "mlp", out=tmp_path / "bad", max_steps=5, ema=1.0, **QUIET)


def test_given_splits_are_used_as_they_are_and_their_overlap_is_noted(names_file, tmp_path):
    from charloom.data.splits import Splits

    items = list(dict.fromkeys(line for line in open(names_file).read().splitlines() if line))
    train_items = items[:200] + items[:5]  # duplicates stay: they are the caller's
    given = Splits(train=train_items, val=items[:3] + items[200:220], test=items[220:240])
    run = train(names_file, "bigram", out=tmp_path / "given", max_steps=5, splits=given, **QUIET)
    assert run.split_items("train") == train_items
    assert run.split_items("val") == given.val
    assert run.split_items("test") == given.test
    notes = run.info["data"]["notes"]
    assert "3 of 23 val items also occur in train" in notes
    assert not any("test items" in note for note in notes)
