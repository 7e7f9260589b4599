"""Streaming: characters handed out as they are drawn, the same item as ``sample`` gives,
and through a real pipe the first character arrives before the item is finished."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from charloom.api import train
from charloom.errors import CharloomError
from cli_runner import SRC, interruptible

QUIET = {"log": lambda message: None}


@pytest.mark.parametrize(
    "options", [{}, {"starts_with": "ma"}, {"max_len": 5, "bad_words": ["an"]}, {"top_k": 4}, {"min_p": 0.1}]
)
def test_a_stream_is_the_item_sample_returns(mlp_run, options):
    for seed in range(4):
        stream = mlp_run.stream(seed=seed, **options)
        pieces = list(stream)
        [sample] = mlp_run.sample(n=1, seed=seed, **options)
        assert "".join(pieces) == sample.text == stream.sample.text
        assert stream.sample.logprob == pytest.approx(sample.logprob)
        assert stream.sample.seen == sample.seen
        if options.get("starts_with"):
            assert pieces[0] == options["starts_with"]  # the forced prefix comes first, whole
        assert all(len(piece) == 1 for piece in pieces[1 if options.get("starts_with") else 0 :])


def test_what_judges_a_finished_item_is_refused(mlp_run):
    for options in ({"regex": "a"}, {"new": True}, {"best_of": 2}, {"num_beams": 2}, {"unique": True}):
        with pytest.raises(CharloomError, match="^stream (shows|cannot)"):
            mlp_run.stream(seed=0, **options)


@pytest.fixture(scope="module")
def long_text_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "text.txt"
    path.write_text(("the cat sat on the mat. the dog ran far away. " * 80) + "\n")
    return train(path, "bigram", out=path.parent / "run", format="text", max_steps=60, **QUIET)


def start_streaming(run, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "charloom", "sample", str(run.path), "--prefix", "the", "--stream", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=interruptible,
    )


def read_some(pipe, timeout: float) -> bytes:
    ready, _, _ = select.select([pipe], [], [], timeout)
    return os.read(pipe.fileno(), 64) if ready else b""


@pytest.mark.slow
def test_the_first_character_comes_through_a_pipe_before_the_item_ends(long_text_run):
    process = start_streaming(long_text_run, "--max-new-tokens", "300000", "--seed", "0")
    try:
        first = read_some(process.stdout, 60)
        assert first.startswith(b"the") and process.poll() is None  # still writing
        time.sleep(0.2)
        assert read_some(process.stdout, 10)  # and more keeps coming
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_ctrl_c_stops_the_stream_and_keeps_what_was_written(long_text_run):
    process = start_streaming(long_text_run, "--max-new-tokens", "300000", "--seed", "0")
    shown = read_some(process.stdout, 60)
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=30)
    assert process.returncode == 130 and b"interrupted" in errors and b"Traceback" not in errors
    written = shown + rest
    assert written.startswith(b"the") and written.endswith(b"\n")


@pytest.mark.slow
def test_on_a_terminal_one_text_sample_streams_unless_a_filter_needs_the_whole(long_text_run):
    import pty

    for extra in ([], ["--regex", "at"]):  # the second falls back to drawing the whole item
        controller, terminal = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        argv = [sys.executable, "-m", "charloom", "sample", str(long_text_run.path), "--prefix", "the"]
        argv += ["--max-new-tokens", "40", "--seed", "0", "--quiet", *extra]
        process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        assert process.wait(timeout=60) == 0, shown
        line = shown.decode().strip()
        assert line.startswith("the") and "error" not in line and len(line) > 3
