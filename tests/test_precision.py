"""--dtype auto: bfloat16 where the hardware multiplies it natively, float32 elsewhere."""

import json

import pytest
import torch

from charloom import device
from charloom.device import native_bfloat16, resolve_dtype
from charloom.models.registry import build_model, make_config
from charloom.train.config import TrainConfig, resolved
from cli_runner import run_cli


def test_auto_takes_bfloat16_only_where_it_is_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "cpu_bfloat16_speedup", lambda: 2.3)  # AVX512-BF16 or AMX
    assert native_bfloat16(cpu) and resolve_dtype("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(device, "cpu_bfloat16_speedup", lambda: 0.4)  # emulated: slower than float32
    assert not native_bfloat16(cpu) and resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("float32", cpu) == torch.float32  # named precisions are taken as given


def test_the_cpu_is_timed_not_read_from_its_flags(monkeypatch):
    device.cpu_bfloat16_speedup.cache_clear()
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    speedup = device.cpu_bfloat16_speedup()
    assert 0 < speedup < 100
    assert device.cpu_bfloat16_speedup() is speedup  # measured once a process
    device.cpu_bfloat16_speedup.cache_clear()


@pytest.mark.parametrize(("family", "fmt", "expected"), [
    ("transformer", "text", "auto"),  # the text default
    ("transformer", "lines", "float32"),
    ("lstm", "text", "float32"),
])  # fmt: skip
def test_the_precision_left_open_is_the_familys_for_the_format(family, fmt, expected):
    model = build_model(family, make_config(family, None, fmt), 10)
    assert resolved(TrainConfig(), model, fmt).dtype == expected
    assert resolved(TrainConfig(dtype="float32"), model, fmt).dtype == "float32"  # the user's word wins


def test_a_named_precision_the_cli_does_not_know_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("anna\nbob\ncarl\n" * 20)
    result = run_cli("train", str(data), "--dtype", "int8", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "auto" in result.stderr and not (tmp_path / "run").exists()


def test_an_auto_run_records_auto_and_trains(tmp_path, monkeypatch):
    data = tmp_path / "text.txt"
    data.write_text("to be or not to be, that is the question.\n" * 40)
    result = run_cli("train", str(data), "--format", "text", "--max-steps", "2", "--n-embd", "16",
                     "--n-layer", "1", "--n-head", "2", "--out", str(tmp_path / "run"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["train"]["dtype"] == "auto"
    assert ("bfloat16 autocast" in result.stdout + result.stderr) == native_bfloat16(torch.device("cpu"))
    closing = result.stdout.split("samples from", 1)[1]
    assert [line for line in closing.splitlines() if line.startswith("--- passage")] == [
        f"--- passage {number}" for number in (1, 2, 3)
    ]  # three passages to read, not a flood of ten
