"""Studies: the file format, scaling, stop-and-continue, and every built-in study end to
end on the embedded names at a small scale (real training: slow marker)."""

from __future__ import annotations

import json
import math

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from charloom.cli import main
from charloom.errors import CharloomError
from charloom.study.runner import format_study, run_study
from charloom.study.spec import builtin_names, load_study, parse_study, scale_options

QUIET = {"log": lambda message: None}


def test_runs_merge_the_shared_options_and_scale_their_steps():
    study = parse_study(
        {
            "shared": {"model": "mlp", "max_steps": 1000, "model_options": {"hidden": 8, "context": 2}},
            "runs": [{"name": "a"}, {"name": "b", "lr": 0.1, "model_options": {"hidden": 4}}],
        },
        "test",
    )
    assert study.runs[1].options == {
        "model": "mlp",
        "max_steps": 1000,
        "lr": 0.1,
        "model_options": {"hidden": 4, "context": 2},
    }
    scaled = scale_options(
        {"max_steps": 200000, "eval_every": 10000, "lr_schedule": "0:0.1,100000:0.01"}, 0.05
    )
    assert scaled == {"max_steps": 10000, "eval_every": 500, "lr_schedule": "0:0.1,5000:0.01"}
    assert scale_options({"max_steps": 10, "sample_steps": [100, 300]}, 0.001) == {
        "max_steps": 1,
        "sample_steps": [1],
    }
    # seconds: the budget and the warm-up shrink, the evaluations with the steps they follow
    timed = scale_options({"time_budget": 300, "eval_every": 500, "warmup_steps": 100}, 0.01)
    assert timed == {"time_budget": 3.0, "eval_every": 500, "warmup_steps": 1}


def test_bad_studies_are_named_in_one_line(tmp_path):
    for raw in (
        {"runs": []},
        {"shared": {}, "runs": [{"lr": 1}]},
        {"shared": {}, "runs": [{"name": "a"}, {"name": "a"}]},
    ):
        with pytest.raises(CharloomError):
            parse_study(raw, "bad")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [")
    assert main(["study", str(broken)]) == 2
    assert main(["study", "no-such-study"]) == 2
    assert main(["study", "bigram", "--scale", "0"]) == 2


def test_the_builtin_studies_are_listed_and_parse(capsys):
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out
    assert set(builtin_names()) >= {"bigram", "init", "deep", "depth", "families", "text", "transfer"}
    for name in builtin_names():
        assert name in listed and load_study(name).runs


def test_a_stopped_study_continues_where_it_stopped(tmp_path):
    study = parse_study(
        {"shared": {"model": "bigram", "max_steps": 20, "eval_every": 10, "num_samples": 0},
         "runs": [{"name": "one"}, {"name": "two", "lr": 0.5}]},
        "mine",
    )  # fmt: skip
    first = run_study(study, tmp_path, data="names", **QUIET)
    stamp = (tmp_path / "one" / "model.safetensors").stat().st_mtime_ns
    again = run_study(study, tmp_path, data="names", **QUIET)
    assert (tmp_path / "one" / "model.safetensors").stat().st_mtime_ns == stamp  # read back, not trained
    assert [r["val_nll"] for r in again["rows"]] == [r["val_nll"] for r in first["rows"]]
    assert json.loads((tmp_path / "study.json").read_text())["rows"][1]["name"] == "two"


# families and speedrun: 300 s a run, so a second or two apiece checks the path; init: 5,000 steps
SCALES = {"families": 0.002, "speedrun": 0.005, "init": 0.025}


BUILTIN = ["bigram", "init", "deep", "depth", "families", "text", "transfer", "speedrun"]


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_study_runs_end_to_end(name, tmp_path, capsys, text_file, names_file):
    scale = SCALES.get(name, 0.05)
    # the lectures' own files are fetched on first use; the tests touch no network
    fetched = {
        "speedrun": str(text_file),
        "text": str(text_file),
        "families": str(names_file),  # eight families' closing figures on a few hundred names
        "init": "names",
        "bigram": "names",
        "deep": "names",
    }
    data = ["--data", fetched[name]] if name in fetched else []
    assert main(["study", name, "--out", str(tmp_path / name), "--scale", str(scale), "--json", *data]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    assert [row["name"] for row in rows] == [run.name for run in load_study(name).runs]
    if name == "transfer":
        [row] = rows
        assert set(row["table"][0]["cells"]) == {
            "english",
            "italian",
            "turkish",
            "hungarian",
            "icelandic",
            "all",
        }
        assert [r["start"] for r in row["table"][:3]] == ["de", "derek ", "derek vr"]
        assert (tmp_path / name / "gru" / "table.html").exists()
        return
    if name == "depth":
        finals = {row["name"]: row["final_log10_std"] for row in rows}
        assert finals["normal"] > 50 and finals["normal-over-100"] < -50 and abs(finals["xavier"]) < 1
        return
    for row in rows:
        assert row["diverged"] or (row["train_nll"] < 3.5 and row["val_nll"] < 3.5)
        assert row["first_loss"] is None or row["first_loss"] > 0
    assert (tmp_path / name / "compare.html").exists()
    if name == "bigram":
        counts, *neural = rows
        assert neural[0]["first_loss"] == pytest.approx(3.2958, abs=1e-3)  # ln 27: a uniform start
        assert neural[1]["first_loss"] > neural[0]["first_loss"]  # random logits start worse
        assert all(abs(row["train_nll"] - counts["train_nll"]) < 0.02 for row in neural)
    if name == "deep":
        stds = {row["name"]: row["layer_std"] for row in rows}
        linear_up, linear_down = stds["linear-gain-5-3"], stds["linear-gain-0.5"]
        assert linear_up[-1] > 3 * linear_up[0] and linear_down[-1] < linear_down[0] / 3
        assert all(0.5 < s < 0.85 for s in stds["tanh-gain-5-3"])
        updates = {row["name"]: row["update_log10"] for row in rows}
        assert updates["linear-gain-1-lr-0.001"] < -3 < updates["linear-gain-1"]  # the lecture's 1e-3 line
        first = {row["name"]: row["first_loss"] for row in rows}
        assert first["no-fan-in"] > first["tanh-gain-5-3"] + 0.2  # saturated: confidently wrong
        assert abs(first["batchnorm"] - math.log(27)) < 0.05  # the logits' BatchNorm, gain 0.1
    if name == "text":
        assert list(rows[0]["samples"]) == ["5", "15", "25", "35", "60", "100"]
    if name in ("init", "bigram", "deep"):  # the reference figures were measured on another list
        assert result["reference_data"] == "makemore-names" and result["data"] == "names"
        assert "measured on makemore-names" in format_study(result)
    if name == "speedrun":  # each row a run of the same seconds, with its rate
        assert all(row["tokens_per_s"] > 0 and math.isfinite(row["test_nll"]) for row in rows)
        assert rows[0]["name"] == "gpt2-adamw" and rows[-1]["name"] == "default"


@pytest.mark.slow
def test_the_study_page_has_a_row_a_run_in_chromium(tmp_path):
    api = browser_or_skip()
    assert (
        main(["study", "bigram", "--out", str(tmp_path), "--scale", "0.02", "--json", "--data", "names"]) == 0
    )
    with api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            view = browser.new_page()
            view.goto((tmp_path / "compare.html").as_uri(), wait_until="load")
            rows = view.locator("table.runs tbody tr").count()
            drawn = view.eval_on_selector_all("figure#loss img", "imgs => imgs.map(i => i.naturalWidth)")
        finally:
            browser.close()
    assert rows == 3 and drawn and drawn[0] > 0
