"""The transfer commands end to end, through `python -m charloom`."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS
from cli_runner import run_cli

pytestmark = pytest.mark.slow  # real processes


@pytest.fixture(scope="module")
def cli_group(categorized_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "g"
    result = run_cli(
        "train-categories", str(categorized_file), "--model", "ngram", "--n", "3", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "classifier held-out accuracy" in result.stdout and "recall" in result.stdout
    return out


def test_group_json_lists_runs(cli_group):
    info = json.loads((cli_group / "group.json").read_text())
    assert info["categories"] == {"hard": "hard", "soft": "soft"}
    assert (cli_group / "hard" / "model.safetensors").exists()


def test_transfer_table_markdown(cli_group, cli):
    result = cli(
        "transfer",
        str(cli_group),
        "--seeds",
        "kotak",
        "Lamina",
        "--cut",
        "0.25,0.5",
        "--samples",
        "2",
        "--best-of",
        "3",
        "--format",
        "md",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("| name | start | hard | soft | all |")  # all: the pooled generator
    assert len(result.stdout.strip().splitlines()) == 2 + 4


def test_transfer_cuts_by_characters_and_first_word(cli_group, cli):
    result = cli("transfer", str(cli_group), "--names", "kotak", "--cut", "2c,first-word", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    cut_and_start = [(r["cut"], r["start"]) for r in rows]
    assert cut_and_start == [("2c", "ko"), ("first-word", "kotak")]  # one word: whole
    for row in rows:
        pooled = row["cells"]["all"][0]
        assert pooled["text"].startswith(row["start"]) and pooled["classified_as"] in ("hard", "soft")
    bad = cli("transfer", str(cli_group), "--seeds", "kota", "--cut", "2x")
    assert bad.returncode == 2 and "first-word" in bad.stderr


def test_transfer_evaluate_json(cli_group, cli):
    result = cli("transfer", str(cli_group), "--evaluate", "--json", "--max-names", "3", "--cut", "0.5")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["transfer_score"]) == {"greedy", "sampled", "best_of_n"}
    assert 0 <= data["classifier_accuracy"] <= 1


def test_unseen_seed_character_is_one_line(cli_group, cli):
    result = cli("transfer", str(cli_group), "--seeds", "xavier", "--category", "hard")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "'x'" in result.stderr


def test_html_table_opens_in_chromium_without_console_errors(cli_group, cli, tmp_path):
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the Python package playwright is not installed")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "transfer.html"
    result = cli(
        "transfer",
        str(cli_group),
        "--seeds",
        "kotak",
        "lamina",
        "--samples",
        "2",
        "--format",
        "html",
        "--output",
        str(page_path),
    )
    assert result.returncode == 0, result.stderr
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            headers = page.locator("th").all_inner_texts()
            rows = page.locator("tbody tr").count()
        finally:
            browser.close()
    assert errors == []
    assert headers == ["name", "start", "hard", "soft", "all"] and rows == 2


@pytest.mark.heavy
def test_conditional_group_from_the_cli(categorized_file, tmp_path):
    out = tmp_path / "c"
    made = run_cli(
        "train-categories",
        str(categorized_file),
        "--condition",
        "category",
        "--model",
        "ngram",
        "--n",
        "3",
        "--out",
        str(out),
    )
    assert made.returncode == 0, made.stderr
    sampled = run_cli("sample", str(out / "model"), "--category", "soft", "-n", "3", "--seed", "0")
    assert sampled.returncode == 0, sampled.stderr
    table = run_cli("transfer", str(out), "--seeds", "kotak", "--format", "csv")
    assert table.returncode == 0, table.stderr
    assert "hard" in table.stdout and "soft" in table.stdout
