"""`train --diagnostics`: what the loop records, prints, and stops on."""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch

from charloom.api import train
from charloom.cli import main
from charloom.divergence import LossGuard
from charloom.errors import TrainingDiverged
from charloom.inspect.diagnostics.checks import EXPLODE_STEPS, per_step_losses
from charloom.inspect.diagnostics.watch import TrainingWatch, read_diagnostics
from charloom.models.mlp import MLP, MLPConfig
from charloom.run import load_run

TINY = {"model_options": {"hidden": 16, "embedding": 4}, "num_samples": 0, "warmup_steps": 5}


def run_with_log(names_file, out, **options) -> list[str]:
    lines: list[str] = []
    train(names_file, "mlp", out=out, log=lines.append, **{**TINY, **options})
    return lines


def test_recorded_steps_maps_and_every_step_loss(names_file, tmp_path):
    out = tmp_path / "run"
    log = run_with_log(names_file, out, max_steps=35, eval_every=35, diagnostics_every=10)
    records = read_diagnostics(out)
    full = [r for r in records if "layers" in r]
    assert [r["step"] for r in full] == [0, 10, 20, 30]
    assert [r["step"] for r in records if "maps" in r] == [0, 30]  # the first and the last recorded
    steps, losses = per_step_losses(records)
    assert steps == list(range(35)) and all(loss > 0 for loss in losses)
    first = full[0]
    assert {layer["kind"] for layer in first["layers"]} == {"embedding", "linear", "tanh"}
    assert set(first["updates"]) == {
        name for name, _ in MLP(MLPConfig(hidden=16, embedding=4), 27).named_parameters()
    }
    vocab_size = load_run(out).vocab.size
    assert first["lr"] > 0 and first["initial_loss"] == pytest.approx(math.log(vocab_size), abs=0.1)
    checks = [line for line in log if line.startswith("check ")]
    assert any(line.startswith("check initial-loss [ok] step 0") for line in checks)
    assert any(line.startswith("check saturation [ok] step 0") for line in checks)
    assert not (out / "tensorboard").exists() or "tensorboard" in sys.modules


def test_without_diagnostics_only_the_initial_loss_check_speaks(names_file, tmp_path):
    quiet = run_with_log(names_file, tmp_path / "a", max_steps=5, eval_every=5)
    assert not (tmp_path / "a" / "diagnostics.jsonl").exists()
    [ok] = [line for line in quiet if line.startswith("check ")]
    assert ok.startswith("check initial-loss [ok] step 0")
    loud = run_with_log(
        names_file,
        tmp_path / "b",
        max_steps=5,
        eval_every=5,
        model_options={"hidden": 16, "embedding": 4, "output_scale": 10.0},
    )
    [warning] = [line for line in loud if line.startswith("check ")]
    assert warning.startswith("check initial-loss [warning] step 0") and "confidently wrong" in warning


def test_resume_keeps_one_loss_per_step(names_file, tmp_path):
    out = tmp_path / "run"
    run_with_log(names_file, out, max_steps=24, eval_every=8, diagnostics_every=10)
    train(names_file, "mlp", out=out, resume=True, max_steps=40, log=lambda m: None)
    records = read_diagnostics(out)
    assert per_step_losses(records)[0] == list(range(40))
    assert [r["step"] for r in records if "layers" in r] == [0, 10, 20, 30]


def test_an_exploding_loss_warns_once_then_the_loop_stops():
    torch.manual_seed(0)
    said: list[str] = []
    watch = TrainingWatch(".", MLP(MLPConfig(hidden=8), 27), None, said.append)
    guard = LossGuard()
    losses = [3.3, 50.0] + [3.0] * 58  # one spike: a warning, training goes on
    for step, loss in enumerate(losses):
        guard.observe(step, loss, lambda: "the last checkpoint", 1e-3)
        watch.after_backward(None, step, torch.tensor(loss))
    assert said[0].startswith("check initial-loss [ok] step 0")
    assert len(said) == 2 and said[1].startswith("check loss [warning] step 1")
    high = 0
    with pytest.raises(TrainingDiverged, match="exploded"):
        while True:
            high += 1
            guard.observe(59 + high, 20.0, lambda: "the last checkpoint", 1e-3)
    # stops once the mean of the last 50 losses passes 3 x 3.3: 21 x 20 + 29 x 3 > 495
    assert high == 21 and EXPLODE_STEPS == 50


def test_the_loss_guard_stops_a_run_even_with_no_callbacks(names_file, tmp_path):
    with pytest.raises(TrainingDiverged, match="exploded|became"):
        train(names_file, "mlp", out=tmp_path / "run", max_steps=400, lr=50.0, optimizer="sgd",
              grad_clip=0, callbacks=[], log=lambda m: None)  # fmt: skip


def test_tensorboard_absent_is_skipped_silently(names_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    run_with_log(names_file, tmp_path / "run", max_steps=3, eval_every=3, diagnostics_every=1)
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert len([r for r in read_diagnostics(tmp_path / "run") if "layers" in r]) == 3


def test_diagnostics_flag_with_and_without_a_value(names_file, tmp_path, capsys):
    base = [
        "train",
        str(names_file),
        "--hidden",
        "16",
        "--max-steps",
        "3",
        "--eval-every",
        "3",
        "--num-samples",
        "0",
        "--quiet",
        "--json",
    ]
    assert main([*base, "--out", str(tmp_path / "a"), "--diagnostics"]) == 0
    assert [r["step"] for r in read_diagnostics(tmp_path / "a") if "layers" in r] == [0]  # every 50
    assert main([*base, "--out", str(tmp_path / "b"), "--diagnostics", "2"]) == 0
    assert [r["step"] for r in read_diagnostics(tmp_path / "b") if "layers" in r] == [0, 2]
    assert "check initial-loss [ok] step 0" in capsys.readouterr().err
    assert json.loads((tmp_path / "b" / "run.json").read_text())["train"]["diagnostics_every"] == 2
    assert main([*base, "--out", str(tmp_path / "c"), "--diagnostics", "0"]) == 2


def test_recording_does_not_change_training(names_file, tmp_path):
    for name, every in (("plain", None), ("watched", 3)):
        run_with_log(names_file, tmp_path / name, max_steps=12, eval_every=6, diagnostics_every=every)
    plain, watched = (
        [
            json.loads(line)["val_loss"]
            for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        ]
        for name in ("plain", "watched")
    )
    assert plain == watched and len(plain) == 3
