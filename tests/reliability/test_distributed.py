"""Data parallel with torchrun: two processes on the CPU match one process with the same
global batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from charloom.api import train
from charloom.errors import CharloomError
from charloom.io import load_tensors
from charloom.train.distributed import Context, StepLoss, detect

SRC = Path(__file__).resolve().parents[2] / "src"

OPTIONS = [
    "--max-steps",
    "12",
    "--eval-every",
    "6",
    "--batch-size",
    "16",
    "--seed",
    "5",
    "--threads",
    "1",
    "--num-samples",
    "1",
]


def test_detect_reads_torchrun_environment():
    assert detect({}) == Context(1, 0, 0)
    ctx = detect({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"})
    assert ctx == Context(4, 2, 0) and ctx.enabled and not ctx.is_main
    with pytest.raises(CharloomError, match="RANK 5"):
        detect({"WORLD_SIZE": "2", "RANK": "5"})


def test_global_batch_must_divide_by_world_size():
    with pytest.raises(CharloomError, match="multiple of 2"):
        StepLoss(Context(2, 0, 0), torch.nn.Linear(1, 1), batch_size=15)


def torchrun(names_file, tmp_path, model: list[str], out: str) -> None:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    command += [
        "charloom",
        "train",
        str(names_file),
        *model,
        "--out",
        str(tmp_path / out),
        "--quiet",
        *OPTIONS,
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.heavy
def test_batchnorm_under_ddp_normalises_the_global_batch(names_file, tmp_path):
    """Each rank's BatchNorm sees the statistics of the whole batch (all-reduced), so two
    processes match one: weights and running statistics alike."""
    torchrun(names_file, tmp_path, ["--model", "mlp", "--hidden", "16", "--batchnorm"], "ddp")
    options = {"max_steps": 12, "eval_every": 6, "batch_size": 16, "seed": 5, "threads": 1, "num_samples": 1}
    train(names_file, "mlp", out=tmp_path / "one", model_options={"hidden": 16, "batchnorm": True},
          log=lambda m: None, **options)  # fmt: skip
    a, _ = load_tensors(tmp_path / "one" / "last.safetensors")
    b, _ = load_tensors(tmp_path / "ddp" / "last.safetensors")
    assert any("running_mean" in key for key in a)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key


@pytest.mark.slow
@pytest.mark.heavy
def test_two_processes_match_one_with_the_same_global_batch(names_file, tmp_path):
    """A GRU on padded whole names: the loss must be weighted by the global token count."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    model = ["--model", "gru", "--hidden", "16", "--embedding", "8", "--dropout", "0", "--n-layer", "1"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "charloom",
            "train",
            str(names_file),
            *model,
            "--out",
            str(tmp_path / "ddp"),
            "--quiet",
            *OPTIONS,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("samples from") == 1  # rank 0 alone reports
    gru = {"hidden": 16, "embedding": 8, "dropout": 0.0, "n_layer": 1}
    train(
        names_file,
        "gru",
        out=tmp_path / "one",
        model_options=gru,
        max_steps=12,
        eval_every=6,
        batch_size=16,
        seed=5,
        threads=1,
        num_samples=1,
        log=lambda m: None,
    )
    for name in ("last.safetensors", "model.safetensors"):
        a, _ = load_tensors(tmp_path / "one" / name)
        b, _ = load_tensors(tmp_path / "ddp" / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-5), key
    assert not list((tmp_path / "ddp").glob("*.tmp"))
