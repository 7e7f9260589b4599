"""Requests of any size: sampled and scored in pieces, in bounded memory, Ctrl-C kept clean."""

from __future__ import annotations

import json

import pytest

from charloom.cli import main
from charloom.run import Run


def test_pieces_keep_unique_and_the_budget_across_them(trigram_run):
    pieces = list(trigram_run.sample_chunks(250, seed=0, chunk=60, unique=True, budget=100_000))
    assert [len(p) for p in pieces] == [60, 60, 60, 60, 10]
    texts = [s.text for p in pieces for s in p]
    assert len(set(texts)) == len(texts) == 250
    capped = list(trigram_run.sample_chunks(10_000, seed=0, chunk=60, unique=True, budget=150))
    assert sum(p.tried for p in capped) <= 150 and sum(len(p) for p in capped) < 10_000


def test_up_to_one_piece_it_is_one_sample_call(mlp_run):
    [piece] = list(mlp_run.sample_chunks(40, seed=7, chunk=100, temperature=0.9))
    assert [s.text for s in piece] == [s.text for s in mlp_run.sample(n=40, seed=7, temperature=0.9)]


def test_many_items_stream_out_with_one_account(trigram_run, tmp_path, capsys):
    out = tmp_path / "names.txt"
    assert main(["sample", str(trigram_run.path), "-n", "25000", "--seed", "1", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 25_000 == len(out.read_text().splitlines())
    assert captured.err.startswith("charloom: returned 25000 of 25000 (tried 25000, kept 25000)")


def test_ctrl_c_keeps_what_was_written_and_closes_the_json(trigram_run, tmp_path, capsys, monkeypatch):
    original = Run.sample_chunks

    def interrupted(self, n, **options):
        pieces = original(self, n, chunk=30, **options)
        yield next(pieces)
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "sample_chunks", interrupted)
    out = tmp_path / "kept.txt"
    argv = ["sample", str(trigram_run.path), "-n", "100", "--json", "--output", str(out)]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 30 and len(out.read_text().splitlines()) == 30
    assert captured.err.strip() == "charloom: interrupted"


def test_scoring_a_long_file_in_pieces_gives_the_one_pass_figures(mlp_run, names_path, tmp_path, capsys):
    items = names_path.read_text().split() * 40  # 24,000 lines: three pieces
    path = tmp_path / "many.txt"
    path.write_text("\n".join(items) + "\n")
    assert main(["score", str(mlp_run.path), "--file", str(path), "--json"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    whole = mlp_run.score(items)
    assert len(streamed["items"]) == len(items) and streamed["tokens"] == whole.num_tokens
    assert streamed["nll_per_char"] == pytest.approx(whole.nll_per_char, rel=1e-9)
