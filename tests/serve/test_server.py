"""`charloom serve` as a user starts it: a real process on a free loopback port, its
playground driven in headless Chromium, and its command line's own errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from served_runs import train_served_runs

from browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from charloom.cli import main
from cli_runner import SRC

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    train_served_runs(root, name_steps=60)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "charloom",
        "serve",
        str(root / "names"),
        str(root / "text"),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine can take a while to import torch
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                if json.loads(answer.read())["status"] == "ok":
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the server did not start: {process.stdout.read()}")
            time.sleep(0.2)
    yield base, process
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_the_server_says_where_it_listens(server):
    _, process = server
    assert process.poll() is None
    first = process.stdout.readline() + process.stdout.readline()
    assert "serving names, text" in first and "this machine only" in first


@pytest.mark.slow
def test_the_playground_generates_writes_and_streams_in_chromium(server):
    api = browser_or_skip()
    base, _ = server
    with api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 800})  # a phone's width
            page.goto(base + "/")
            page.wait_for_function("document.querySelectorAll('#run option').length === 2")
            page.select_option("#run", "names")
            page.fill("input[name=starts_with]", "ma")
            page.fill("input[name=n]", "7")
            page.fill("input[name=seed]", "1")
            page.click("#go")
            page.wait_for_selector("#items li")
            if os.environ.get("CHARLOOM_FIGURES"):  # the README's picture: CHARLOOM_FIGURES=docs/figures
                page.screenshot(
                    path=os.path.join(os.environ["CHARLOOM_FIGURES"], "playground.png"), full_page=True
                )
            texts = page.locator("#items .text").all_inner_texts()
            marks = page.locator("#items .mark").all_inner_texts()
            assert len(texts) == 7 and all(t.startswith("ma") for t in texts)
            assert len(marks) == 7 and set(marks) <= {"train", "held-out", "new"}

            page.click("nav button[data-tab=write]")
            page.locator("#pad").press_sequentially("ma")
            page.wait_for_function("document.querySelectorAll('#choices button').length > 3")
            shown = page.locator("#choices button").first.inner_text()
            page.locator("#choices button").first.click()
            page.wait_for_function("document.querySelector('#pad').value.length === 3")
            assert page.input_value("#pad").startswith("ma") and shown

            page.click("nav button[data-tab=generate]")
            page.select_option("#run", "text")
            page.fill("textarea[name=prefix]", "the ")
            page.fill("input[name=max_new_tokens]", "60")
            page.click("#go")
            page.wait_for_function("document.querySelector('#generate-status').textContent.includes('nats')")
            streamed = page.inner_text("#streamed")
            assert streamed.startswith("the ") and len(streamed) > 20
        finally:
            browser.close()


def test_the_command_line_refuses_in_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 2
    assert "neither a run" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--max-n", "0"]) == 2
    assert "--max-n must be above 0" in capsys.readouterr().err


@pytest.mark.slow
def test_a_taken_port_is_one_line(server, capsys):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    assert main(["serve", "no-such-run", "--port", port]) == 2
    err = capsys.readouterr().err.strip()
    assert f"cannot listen on 127.0.0.1:{port}" in err and len(err.splitlines()) == 1
