"""Device placement: every training step and decoding step keeps to the model's device
(tests/placement.py), for every family, on the CPU through the same code a GPU runs; and
the check is shown to catch a planted ``.cpu()``. The ``cuda`` tests run where a GPU is."""

from __future__ import annotations

import pytest
import torch

from charloom import Callback
from charloom.api import train
from charloom.generate import processors
from charloom.generate.pipeline import SampleOptions, make_task
from charloom.run import load_run
from placement import Placement
from tiny_data import make_names

FAMILIES = {
    "bigram": {},
    "ngram": {"n": 3},
    "mlp": {"hidden": 16, "embedding": 4, "batchnorm": True},
    "wavenet": {"context": 8, "embedding": 8, "hidden": 16},
    "rnn": {"hidden": 16},
    "gru": {"hidden": 16},
    "lstm": {"hidden": 16},
    "transformer": {"n_layer": 1, "n_head": 2, "n_embd": 16},
}


class WatchSteps(Callback):
    """A training callback that holds each step (forward, backward, update) to the rule."""

    def __init__(self, device: str = "cpu"):
        self.mode = Placement(device)
        self.steps = 0

    def before_step(self, trainer, step: int) -> None:
        self.mode.__enter__()

    def after_update(self, trainer, step: int, lr: float) -> None:
        self.mode.__exit__(None, None, None)
        self.steps += 1


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("placement") / "names.txt"
    path.write_text("\n".join(make_names()) + "\n")
    return path


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_and_decoding_steps_stay_on_the_device(family, data, tmp_path):
    watch = WatchSteps()
    options = {"max_steps": 3, "eval_every": 3, "num_samples": 0, "device": "cpu", "log": lambda m: None}
    run = train(
        data, family, out=tmp_path / family, model_options=FAMILIES[family], callbacks=[watch], **options
    )
    assert watch.mode.errors == []
    assert watch.steps == (0 if family == "ngram" else 3)
    run = load_run(run.path, device="cpu")
    options = SampleOptions.from_kwargs(
        {"contains": "a", "max_len": 8, "no_repeat_ngram_size": 2, "repetition_penalty": 1.3, "top_p": 0.9}
    )
    task = make_task(run, options, seed=0)
    with Placement("cpu") as seen:
        task.decode(16)
    assert seen.errors == []


def test_the_check_catches_a_planted_cpu_call(data, tmp_path, monkeypatch):
    """A ``.cpu()`` planted in processors.py (compiled under that file's name, as if edited
    in) is caught, with the file that holds it."""
    run = train(data, "bigram", out=tmp_path / "b", max_steps=1, num_samples=0, log=lambda m: None)
    planted = "def top_k(self, t, logits):\n    return keep(self, t, logits.cpu())\n"
    namespace = {"keep": processors.TopK.__call__}
    exec(compile(planted, processors.__file__, "exec"), namespace)
    monkeypatch.setattr(processors.TopK, "__call__", namespace["top_k"])
    task = make_task(load_run(run.path, device="cpu"), SampleOptions.from_kwargs({"top_k": 5}), seed=0)
    with Placement("cpu") as seen:
        task.decode(4)
    assert seen.errors and all(e.startswith("generate/processors.py:2: .cpu()") for e in seen.errors)
    monkeypatch.undo()
    with Placement("cpu") as seen:
        task.decode(4)
    assert seen.errors == []  # the same decoding without the planted line


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.cuda
@cuda
def test_cuda_bf16_training_sampling_and_a_portable_run(data, tmp_path):
    run = train(data, "transformer", out=tmp_path / "g", max_steps=20, eval_every=10, device="cuda",
                dtype="bfloat16", model_options=FAMILIES["transformer"], log=lambda m: None)  # fmt: skip
    on_gpu = load_run(run.path, device="cuda")
    assert on_gpu.model.device.type == "cuda"
    with Placement(on_gpu.model.device) as seen:
        make_task(on_gpu, SampleOptions(contains="a", max_len=8), seed=0).decode(32)
    assert seen.errors == []
    on_cpu = load_run(run.path, device="cpu")  # trained on the GPU, read on the CPU
    assert on_cpu.evaluate("val")["nll"] == pytest.approx(on_gpu.evaluate("val")["nll"], abs=1e-3)
    train(
        None, out=run.path, resume=True, max_steps=30, device="cpu", log=lambda m: None
    )  # resumed on the CPU


@pytest.mark.cuda
@cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_process_nccl_ddp(data, tmp_path):
    import os
    import subprocess
    import sys

    from cli_runner import SRC

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "charloom"]
    command += ["train", str(data), "--model", "mlp", "--max-steps", "20", "--batch-size", "64"]
    command += ["--device", "cuda", "--out", str(tmp_path / "d")]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
