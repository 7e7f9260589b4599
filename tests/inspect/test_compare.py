"""``charloom compare``: the rows read from the run folders, groups expanded, and the page
in headless Chromium (curves drawn, table present, one row per run)."""

from __future__ import annotations

import json

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS
from charloom.api import train
from charloom.cli import main
from charloom.rundir import read_run_json
from tiny_data import make_names

QUIET = {"log": lambda message: None}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    data = root / "names.txt"
    data.write_text("\n".join(make_names()) + "\n")
    bigram = train(data, "bigram", out=root / "bigram", max_steps=40, eval_every=20, num_samples=6, **QUIET)
    mlp = train(
        data,
        "mlp",
        out=root / "mlp",
        max_steps=40,
        eval_every=20,
        num_samples=6,
        diagnostics_every=10,
        model_options={"hidden": 16, "embedding": 4, "n_layer": 2},
        **QUIET,
    )
    return bigram.path, mlp.path


def test_rows_are_the_runs_own_figures(runs, capsys):
    assert main(["compare", *map(str, runs), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["family"] for row in rows] == ["bigram", "mlp"]
    for row, path in zip(rows, runs, strict=True):
        status = read_run_json(path)["status"]
        assert row["run"] == str(path) and row["val_nll"] == status["val_nll"]
        assert row["test_nll"] == status["test_nll"] and row["steps"] == 40
        assert row["parameters"] == read_run_json(path)["model"]["parameters"]
        assert row["new"] + row["held_out"] + row["in_train"] == pytest.approx(1.0)
    assert main(["compare", *map(str, runs)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["run", "family", "params"] and len(table) == 3


def test_a_group_stands_for_its_runs(tmp_path, capsys):
    from charloom.transfer.group import train_group

    data = tmp_path / "cats.tsv"
    data.write_text("".join(f"{'a' if i % 2 else 'b'}\t{n}\n" for i, n in enumerate(make_names()[:200])))
    train_group(data, "ngram", out=tmp_path / "g", model_options={"n": 2}, log=lambda m: None)
    assert main(["compare", str(tmp_path / "g"), "--json"]) == 0
    assert [row["name"] for row in json.loads(capsys.readouterr().out)] == ["b", "a", "all-categories"]


def test_bad_input_is_one_line(runs, tmp_path, capsys):
    assert main(["compare", str(tmp_path / "none")]) == 2
    assert main(["compare", str(runs[0]), "--output", str(tmp_path / "page.txt")]) == 2
    assert capsys.readouterr().err.count("\n") == 2


@pytest.mark.slow
def test_the_page_draws_every_run_in_chromium(runs, tmp_path, browser_api):
    page_path = tmp_path / "compare.html"
    assert main(["compare", *map(str, runs), "--output", str(page_path)]) == 0
    page = page_path.read_text()
    assert "http" not in page and "<script" not in page  # stands alone
    errors: list[str] = []
    with browser_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            view = browser.new_page()
            view.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            view.on("pageerror", lambda e: errors.append(str(e)))
            view.goto(page_path.as_uri(), wait_until="load")
            rows = view.locator("table.runs tbody tr").count()
            images = view.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.closest('figure').id, i.naturalWidth])"
            )
            columns = view.locator("table.samples th").all_inner_texts()
        finally:
            browser.close()
    assert errors == [] and rows == 2
    assert {name for name, width in images if width > 0} == {"loss", "layers"}  # curves and layers drawn
    assert columns == ["bigram", "mlp"]
