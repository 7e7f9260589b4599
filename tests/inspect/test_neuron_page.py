"""The neuron page: compact, self-contained, and alive in a real browser."""

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from browser import CHROMIUM, CHROMIUM_ARGS
from charloom.inspect.interpret.neuron_page import neuron_page, quantise, write_neuron_page
from charloom.inspect.interpret.neurons import builtin_features, capture, discover


@pytest.fixture(scope="module")
def page_file(quote_run, heldout_file, tmp_path_factory) -> tuple[Path, list]:
    trace = capture(quote_run.model, quote_run.vocab, heldout_file.read_text()[:400], "text")
    findings = discover(trace, builtin_features(trace.text))
    path = tmp_path_factory.mktemp("page") / "neurons.html"
    return write_neuron_page(path, trace, findings, title="quotes </script> test"), findings


def test_quantised_units_decode_to_within_half_a_step():
    values = np.random.default_rng(0).normal(size=(30, 4)) * [1, 0.01, 5, 0]
    codes, scale = quantise(values)
    assert codes.shape == (4, 30) and codes.dtype == np.int8
    decoded = codes.T * scale / 127
    assert np.all(np.abs(decoded - values) <= scale / 127 / 2 + 1e-12)


def test_page_is_self_contained_and_carries_the_data(page_file, quote_run):
    path, findings = page_file
    page = path.read_text()
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched from a network
    data = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1)
    )
    assert data["title"] == "quotes </script> test"  # escaped, so it did not end the script
    assert len(data["guesses"]) == len(data["text"]) == 400
    hidden = data["quantities"][0]
    assert hidden["name"] == "hidden" and hidden["units"] == 16
    assert len(base64.b64decode(hidden["data"][0])) == 16 * 400
    assert data["findings"][0]["units"][0]["anchor"].startswith("quantity=")
    assert len(page) < 200_000


def test_page_caps_are_respected(quote_run):
    trace = capture(quote_run.model, quote_run.vocab, "abc " * 100, "text", max_chars=50)
    assert len(trace) == 50 and "abc" in neuron_page(trace)


@pytest.mark.slow
def test_page_runs_in_chromium_and_choosing_a_unit_recolours_the_text(page_file):
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed (pip install playwright; the browser is Debian's chromium)",
    )
    path, findings = page_file
    colours = "els => els.slice(0, 120).map(e => getComputedStyle(e).backgroundColor)"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(path.as_uri())
            before = page.eval_on_selector_all("#text .ch", colours)
            assert page.eval_on_selector_all("#text .ch", "els => els.length") == 400
            page.fill("#unit", "1")
            page.dispatch_event("#unit", "input")
            after = page.eval_on_selector_all("#text .ch", colours)
            assert sum(a != b for a, b in zip(before, after, strict=True)) > 20
            # A discovered unit's link selects it through the page's anchor.
            best = findings[0].units[0]
            page.click("#findings a >> nth=0")
            assert page.input_value("#unit") == str(best.unit) and best.anchor in page.url
            page.hover("#text .c >> nth=5")
            assert "unit" in page.text_content("#info") and "next:" in page.text_content("#info")
            assert errors == []
        finally:
            browser.close()
