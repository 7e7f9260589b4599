"""`charloom diagnose RUN`: PNGs under RUN/plots/ and one self-contained RUN/report.html,
checked as text here and end to end in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS
from charloom.api import train
from charloom.cli import main
from charloom.inspect.diagnostics.diagnose import diagnose
from tiny_data import make_names

pytest.importorskip("matplotlib")

QUIET = {"log": lambda message: None, "num_samples": 3}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "names.txt"
    path.write_text("\n".join(make_names()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def diagnosed(data_file, tmp_path_factory) -> Path:
    """A 3-layer MLP trained 60 steps with diagnostics every 10, then diagnosed."""
    out = tmp_path_factory.mktemp("runs") / "deep"
    train(
        data_file,
        "mlp",
        out=out,
        model_options={"n_layer": 3, "hidden": 32, "embedding": 8},
        max_steps=60,
        eval_every=30,
        warmup_steps=10,
        diagnostics_every=10,
        **QUIET,
    )
    diagnose(out)
    return out


def embedded_images(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page)


def test_report_stands_alone_with_every_figure(diagnosed):
    page = (diagnosed / "report.html").read_text(encoding="utf-8")
    plots = sorted(p.name for p in (diagnosed / "plots").glob("*.png"))
    names = (
        "loss",
        "activations",
        "gradients",
        "preactivations",
        "logits",
        "weight_gradients",
        "saturation",
        "update_ratios",
        "grad_data",
        "layer_stats",
    )
    assert plots == sorted(f"{name}.png" for name in names)
    images = embedded_images(page)
    assert len(images) == len(plots)
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)  # nothing outside the file
    for section in ("Checks", "Figures", "Metrics", "Samples", "Configuration"):
        assert f"<h2>{section}</h2>" in page
    assert "initial-loss" in page and "update-ratio" in page and "n_layer" in page


def test_a_run_without_diagnostics_is_probed(data_file, tmp_path, capsys):
    out = tmp_path / "plain"
    train(data_file, "mlp", out=out, model_options={"hidden": 16}, max_steps=10, eval_every=5, **QUIET)
    assert main(["diagnose", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["probed"] and Path(result["report"]) == out / "report.html"
    assert {"loss", "activations", "saturation"} <= set(result["plots"])
    assert "update_ratios" not in result["plots"]  # no history without --diagnostics
    assert "without --diagnostics" in (out / "report.html").read_text(encoding="utf-8")


def test_a_count_model_gets_a_report_too(data_file, tmp_path, capsys):
    out = tmp_path / "ngram"
    train(data_file, "ngram", out=out, **QUIET)
    assert main(["diagnose", str(out)]) == 0
    assert "report:" in capsys.readouterr().out and (out / "report.html").exists()


def test_diagnose_of_no_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.slow
def test_report_renders_in_headless_chromium(browser_api, diagnosed):
    errors: list[str] = []
    requests: list[str] = []
    with browser_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto((diagnosed / "report.html").as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))"
            )
            title = page.title()
        finally:
            browser.close()
    assert len(images) == 10
    assert all(image["complete"] and image["width"] > 0 for image in images), images
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert title.startswith("charloom report")
