"""``charloom play``: the session's logic, and a scripted session through a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from charloom.cli.play import Play
from charloom.generate.explore import END
from cli_runner import SRC


def test_next_chars_is_the_models_distribution(mlp_run):
    listing = mlp_run.next_chars("ma", top=mlp_run.vocab.size)
    assert sum(p for _, p in listing) == pytest.approx(1.0, abs=1e-5)
    assert [p for _, p in listing] == sorted((p for _, p in listing), reverse=True)
    assert END in {ch for ch, _ in listing}
    greedy = mlp_run.sample(n=1, prefix="ma", temperature=0.0, max_new_tokens=2)[0].text
    first = listing[0][0]
    assert greedy == "ma" + first or (first == END and greedy == "ma")
    cold = mlp_run.next_chars("ma", top=3, temperature=0.5)
    assert cold[0][1] > listing[0][1]  # cooling sharpens the distribution
    assert mlp_run.next_chars("ma", top=1, temperature=0.0) == [(first, 1.0)]


def test_a_session_picks_types_undoes_and_changes_temperature(mlp_run):
    play = Play(mlp_run, top=5, seed=0)
    play.view()
    assert play.handle("ma") == "" and play.text == "ma"
    shown = play.view()
    assert shown.startswith("text: ma|") and len(play.listing) == 5
    choice = next(i for i, (ch, _) in enumerate(play.listing, 1) if ch != END)
    assert play.handle(str(choice)) == "" and play.text == "ma" + play.listing[choice - 1][0]
    assert play.handle(":u") == "" and play.text == "ma"
    assert play.handle(":t 0.5") == "temperature 0.5" and play.temperature == 0.5
    assert "no 'Ü'" in play.handle("Ü") and play.text == "ma"
    assert play.handle(":t hot").startswith(":t takes a number")
    assert play.handle("99").startswith("pick 1 to 5")
    assert play.handle(":q") is None


def test_picking_the_end_finishes_the_item(mlp_run):
    play = Play(mlp_run, top=mlp_run.vocab.size, seed=0)
    play.handle("anna")
    play.view()
    end = next(i for i, (ch, _) in enumerate(play.listing, 1) if ch == END)
    reply = play.handle(str(end))
    assert reply.startswith("finished: anna") and play.text == ""
    assert play.handle(":u") == "" and play.text == "anna"


def read_until(fd: int, pattern: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while pattern not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {pattern!r} in {seen[-400:]!r}")
        try:
            seen += os.read(fd, 4096)
        except OSError:  # the other side closed
            break
    return seen


@pytest.mark.slow
def test_play_answers_a_scripted_session_through_a_pty(mlp_run):
    controller, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [sys.executable, "-m", "charloom", "play", str(mlp_run.path), "--top", "5", "--seed", "1"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        close_fds=True,
    )
    os.close(terminal)
    try:
        assert b"charloom play" in read_until(controller, b"> ")
        os.write(controller, b"ma\n")
        screen = read_until(controller, b"> ").decode()
        assert "text: ma|" in screen
        first = re.search(r" 1 (\S+) (\d\.\d{3})", screen)
        expected = mlp_run.next_chars("ma", top=5)[0]
        assert first.group(2) == f"{expected[1]:.3f}"
        os.write(controller, b"1\n")
        screen = read_until(controller, b"> ").decode()
        assert ("finished: ma" in screen) if expected[0] == END else (f"text: ma{expected[0]}|" in screen)
        os.write(controller, b":u\n")
        assert "text: ma|" in read_until(controller, b"> ").decode()
        os.write(controller, b":t 0\n")
        screen = read_until(controller, b"> ").decode()
        assert "temperature 0" in screen and " 1.000" in screen  # greedy: all on the argmax
        os.write(controller, b":q\n")
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(controller)
