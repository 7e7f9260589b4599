from __future__ import annotations

import csv
import io
import json

import pytest
import torch

from charloom.errors import CharloomError, RunError, UnknownCharacterError
from charloom.transfer.complete import complete, complete_pooled, cut_start, parse_cuts, prepare_name
from charloom.transfer.group import load_group
from charloom.transfer.render import render
from charloom.transfer.score import transfer_score
from charloom.transfer.table import transfer_table


def test_cut_start_rounds_and_keeps_one_character():
    assert cut_start("derek vroom", 0.5) == "derek "
    assert cut_start("ab", 0.1) == "a"
    assert cut_start("abcd", 0.25) == "a" and cut_start("abcd", 1.0) == "abcd"
    assert parse_cuts("0.25, 0.50,2c,first-word") == ["0.25", "0.5", "2c", "first-word"]
    with pytest.raises(CharloomError):
        parse_cuts("0.5,2")
    assert prepare_name("  Zoë  Ek ", keep_accents=False) == "zoe ek"


def test_cuts_by_characters_and_words():
    assert cut_start("derek vroom", "2c") == "de" and cut_start("al", "4c") == "al"
    assert cut_start("derek vroom", "first-word") == "derek " and cut_start("anna", "first-word") is None
    for bad in ("0c", "x", "1.5", "nan"):
        with pytest.raises(CharloomError):
            cut_start("anna", bad)


def test_the_pooled_generator_holds_out_what_the_categories_hold_out(group):
    pooled = group.pooled
    for split in ("train", "val", "test"):
        union = {item for items in group.split(split).values() for item in items}
        assert set(pooled.split_items(split)) <= union
    held_out = {item for name in ("val", "test") for items in group.split(name).values() for item in items}
    assert not held_out & set(pooled.split_items("train"))
    [completion] = complete_pooled(group, "ka", 1, seed=1)
    assert completion.text.startswith("ka") and completion.classified_as in group.categories
    assert completion.mark.startswith(completion.classified_as)


def test_best_of_n_picks_the_judges_favourite(group):
    plain = complete(group, "soft", "ka", 4, best_of=1, seed=5)
    best = complete(group, "soft", "ka", 4, best_of=6, seed=5)
    assert all(c.text.startswith("ka") for c in plain + best)
    assert sum(c.judge_prob for c in best) >= sum(c.judge_prob for c in plain)
    greedy = complete(group, "hard", "ka", 3, temperature=0)
    assert len(greedy) == 1


def test_unseen_seed_character_names_it(group):
    with pytest.raises(UnknownCharacterError, match="'x'"):
        complete(group, "hard", "xa")


def test_table_and_formats(group):
    rows = transfer_table(group, ["Kotak", "lamina"], [0.5], samples=2, best_of=2)
    assert [r.start for r in rows] == ["kot", "lam"]
    assert all(len(cells) == 2 for r in rows for cells in r.cells.values())
    text, md = render(rows, "text"), render(rows, "md")
    assert "hard" in text.splitlines()[0] and md.startswith("| name | start | hard | soft |")
    lines = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert len(lines) == 2 * 2 * 3  # names x samples x (two generators and the pooled one)
    assert 0 <= float(lines[0]["classifier_prob"]) <= 1
    page = render(rows, "html")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page


def test_transfer_score_shapes(group):
    result = transfer_score(group, [0.5], max_names=4, best_of=3)
    assert set(result["transfer_score"]) == {"greedy", "sampled", "best_of_n"}
    assert all(0 <= v <= 1 for v in result["transfer_score"].values())
    assert result["completions"] == 2 * 4 - result["skipped_seeds"]
    assert 0 <= result["classifier_accuracy"] <= 1
    json.dumps(result)


def test_a_folder_without_group_json_is_refused(tmp_path):
    with pytest.raises(RunError, match="not a run group"):
        load_group(tmp_path)


def test_every_generator_reads_every_seed(tmp_path):
    """A letter only one category uses ('w') is in every run's vocabulary, so the other
    generator can continue a seed with it rather than skipping it."""
    from charloom.transfer.group import train_group

    path = tmp_path / "two.tsv"
    path.write_text("".join(f"a\twawa{i % 7}\nb\tbobo{i % 5}\n" for i in range(40)), encoding="utf-8")
    group = train_group(path, "ngram", out=tmp_path / "g", model_options={"n": 2}, log=lambda m: None)
    assert group.runs["a"].vocab == group.runs["b"].vocab
    assert complete(group, "b", "wa", 2)[0].text.startswith("wa")
    assert transfer_score(group, [0.5], max_names=2, best_of=2)["skipped_seeds"] == 0


def test_contrastive_decoding_is_the_product_of_experts(group):
    from charloom.transfer.contrast import ContrastModel, contrasted

    run, base = group.runs["soft"], group.pooled
    assert contrasted(run, base, 0.0) is run
    model = ContrastModel(run.model, base.model, 0.5)
    tokens = torch.tensor([[0], [0]])
    logits, _ = model(tokens, model.init_state(2))
    p = torch.log_softmax(run.model(tokens, run.model.init_state(2))[0], dim=-1)
    q = torch.log_softmax(base.model(tokens, base.model.init_state(2))[0], dim=-1)
    assert torch.allclose(logits, 1.5 * p - 0.5 * q, atol=1e-6)
    plain = complete(group, "soft", "ko", 60, seed=3)
    pushed = complete(group, "soft", "ko", 60, seed=3, contrast=1.0)
    mean = lambda done: sum(c.classifier_prob for c in done) / len(done)  # noqa: E731
    assert mean(pushed) > mean(plain)  # a hard seed pushed further toward soft
    with pytest.raises(CharloomError, match="^contrast must be >= 0"):
        complete(group, "soft", "ko", 1, contrast=-1.0)
