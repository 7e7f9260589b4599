"""Faults: SIGKILL at random moments, Ctrl-C, a full disk; every bad input a one-line error.

The harness and its cases live in tests/faults.py, shared with scripts/fault_table.py,
which prints the same results as a table."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import faults
from charloom import io
from charloom.api import train
from charloom.errors import CharloomError
from cli_runner import interruptible

QUIET = {"log": lambda message: None}
TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


@pytest.mark.slow
@pytest.mark.heavy
def test_twenty_random_kills_then_resume_end_with_identical_weights(names_file, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(TESTS)])}
    done = subprocess.run(
        [sys.executable, str(TESTS / "kill_check.py"), str(names_file), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["reference_code"] == 0
    assert report["kills"] == 20 and report["resumes"] >= 1, report["events"]
    assert all(report["same_weights"].values()), report["same_weights"]
    assert report["same_metrics"] and report["same_samples"]
    assert report["state"] == "finished" and report["temp_files"] == []


def _cli_process(*args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "charloom", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible,
    )


def _wait_for_checkpoint(process: subprocess.Popen, out: Path, after: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            step = faults.checkpoint_step(out)
        except CharloomError:
            step = None
        if step is not None and step > after:
            return
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.heavy
def test_real_process_ctrl_c_then_sigkill_then_resume(names_file, tmp_path):
    """`python -m charloom train`: SIGINT saves and exits 130 with one line; SIGKILL later
    loses only the steps since the last checkpoint; the resumed run equals an
    uninterrupted one."""
    options = [
        "--model",
        "bigram",
        "--max-steps",
        "1000",
        "--eval-every",
        "50",
        "--num-samples",
        "1",
        "--seed",
        "2",
        "--threads",
        "1",
        "--quiet",
    ]
    out = tmp_path / "run"
    first = _cli_process("train", str(names_file), "--out", str(out), *options)
    _wait_for_checkpoint(first, out, after=-1)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 130, stderr
    assert stderr.count("\n") == 1 and "checkpoint saved" in stderr and "--resume" in stderr
    interrupted_at = faults.checkpoint_step(out)
    second = _cli_process("train", "--resume", "--out", str(out), "--quiet")
    _wait_for_checkpoint(second, out, after=interrupted_at)
    second.kill()
    second.communicate(timeout=60)
    killed_at = faults.checkpoint_step(out)
    assert killed_at > interrupted_at
    train(None, out=out, resume=True, **QUIET)
    train(
        names_file,
        "bigram",
        out=tmp_path / "ref",
        max_steps=1000,
        eval_every=50,
        num_samples=1,
        seed=2,
        threads=1,
        **QUIET,
    )
    for name in ("last.safetensors", "model.safetensors"):
        assert faults.same_weights(tmp_path / "ref" / name, out / name), name


@pytest.mark.slow
def test_full_disk_is_one_line_and_keeps_the_previous_checkpoint(names_file, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(names_file, "bigram", out=out, max_steps=20, eval_every=10, num_samples=1, **QUIET)
    before = faults.snapshot(out)

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.os, "fsync", no_space)
    outcome = faults.run_cli(["train", "--resume", "--out", str(out), "--max-steps", "40"])
    monkeypatch.undo()
    assert outcome.code == 2, outcome.stderr
    assert outcome.stderr.count("\n") == 1 and "No space left on device" in outcome.stderr
    assert "--resume" in outcome.stderr
    after = faults.snapshot(out)
    for name in ("last.safetensors", "state.safetensors", "model.safetensors", "run.json"):
        assert after[name] == before[name], name
    assert faults.checkpoint_step(out) == 20
    assert not list(out.glob(".*.tmp"))
    train(None, out=out, resume=True, max_steps=40, **QUIET)  # space is back: it continues
    assert faults.checkpoint_step(out) == 40


def test_a_kill_between_last_and_state_resumes_from_state(names_file, tmp_path):
    """last.safetensors newer than state.safetensors (killed in between), metrics lines
    after the checkpoint, a stale temp file: resume redoes the steps and cleans up."""
    options = dict(max_steps=40, eval_every=10, num_samples=1, seed=9, **QUIET)
    train(names_file, "bigram", out=tmp_path / "ref", **options)
    out = tmp_path / "run"
    train(names_file, "bigram", out=out, **{**options, "max_steps": 20})
    state = (out / "state.safetensors").read_bytes()
    train(None, out=out, resume=True, max_steps=30, **QUIET)
    (out / "state.safetensors").write_bytes(state)  # as if killed after last.safetensors at step 30
    (out / ".last.safetensors.abc.tmp").write_bytes(b"half a file")
    train(None, out=out, resume=True, max_steps=40, **QUIET)
    assert faults.same_weights(tmp_path / "ref" / "last.safetensors", out / "last.safetensors")
    assert faults.metrics_without_timing(out) == faults.metrics_without_timing(tmp_path / "ref")
    assert not list(out.glob(".*.tmp"))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp("bad")
    faults.trained_run(work)
    return work


@pytest.mark.slow
@pytest.mark.parametrize("case", faults.CASES, ids=[case.name for case in faults.CASES])
def test_bad_input_is_one_line_exit_2_and_overwrites_nothing(work, case):
    row = faults.try_case(case, work)
    assert row.code == 2, row
    assert row.one_line, row
    assert row.intact, row
    assert row.expected, (case.expect, row.message)
    assert not (work / "UNPICKLED").exists()  # the pickle was never unpickled


@pytest.mark.slow
def test_a_10_mb_line_is_refused_fast(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"ab" * 5_000_000)
    started = time.monotonic()
    outcome = faults.run_cli(["train", str(path), "--out", str(tmp_path / "o")])
    assert outcome.code == 2 and "--format text" in outcome.stderr
    assert time.monotonic() - started < 5
