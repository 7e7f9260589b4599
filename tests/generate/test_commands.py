"""`charloom sample` and `charloom score` as a user meets them."""

import json

import pytest

from charloom.cli import main


def test_sample_with_constraints_prints_items_first_and_counts_on_stderr(mlp_run, cli, tmp_path):
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("kara\nkayla\n")
    result = cli(
        "sample",
        str(mlp_run.path),
        "-n",
        "6",
        "--starts-with",
        "ka",
        "--ends-with",
        "a",
        "--contains",
        "r",
        "--min-len",
        "4",
        "--max-len",
        "8",
        "--not-in-train",
        "--unique",
        "--regex",
        "^[a-z]+$",
        "--exclude",
        str(exclude),
        "--seed",
        "3",
        "--temperature",
        "0.9",
        "--top-k",
        "20",
        "--top-p",
        "0.95",
    )
    assert result.returncode == 0, result.stderr
    items = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(items) == 6 and len({item for item, *_ in items}) == 6
    for item, status, nll in items:
        assert item.startswith("ka") and item.endswith("a") and "r" in item and 4 <= len(item) <= 8
        assert status == "new" and item not in ("kara", "kayla") and float(nll) > 0
    assert result.stderr.startswith("charloom: returned 6 of 6 (tried ")


def test_search_options_add_a_score_column(mlp_run, capsys):
    for options in (
        ["--num-beams", "4", "-n", "4"],
        ["--best-of", "3", "--score", "loglik:1,novelty:0.5"],
        ["--refine", "2"],
        ["--score", "novelty"],
    ):
        assert main(["sample", str(mlp_run.path), "--seed", "0", "-n", "4", *options]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 4 and all(len(line.split("\t")) == 4 for line in lines)
    assert main(["sample", str(mlp_run.path), "-n", "3", "--seed", "0", "--json", "--score", "loglik"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert all(r["score"] == pytest.approx(r["logprob"], abs=1e-4) for r in records)


def test_failures_are_one_line_with_exit_2(mlp_run, capsys):
    for options in (
        ["--starts-with", "abc", "--max-len", "2"],
        ["--regex", "^q{9}", "--budget", "50"],
        ["--num-beams", "2", "-n", "5"],
        ["--score", "nonsense", "--best-of", "2"],
        ["--prefix", "ma", "--starts-with", "jo"],
    ):
        assert main(["sample", str(mlp_run.path), "-n", "3", *options]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("charloom: error:"), err
    assert main(["sample", str(mlp_run.path), "--regex", "^q{9}", "--budget", "50"]) == 2
    assert "tried 50" in capsys.readouterr().err


def test_score_command_matches_evaluate(mlp_run, cli, tmp_path):
    items = ["mara", "jonathan", "li"]
    result = cli("score", str(mlp_run.path), *items, "--json")
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert scored["unit"] == "nats" and [r["item"] for r in scored["items"]] == items
    path = tmp_path / "items.txt"
    path.write_text("\n".join(items) + "\n")
    assert scored["nll_per_char"] == pytest.approx(mlp_run.evaluate(file=path)["nll"], rel=1e-5)
    for record in scored["items"]:
        one = tmp_path / "one.txt"
        one.write_text(record["item"] + "\n")
        assert record["nll_per_char"] == pytest.approx(mlp_run.evaluate(file=one)["nll"], rel=1e-5)
        assert [token for token, _ in record["surprisal"]] == [*record["item"], "."]


def test_score_command_text_output_and_errors(mlp_run, tmp_path, capsys):
    path = tmp_path / "items.txt"
    path.write_text("mara\nli\n")
    assert main(["score", str(mlp_run.path), "--file", str(path), "--bits"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "bits" in out[0] and out[1].startswith("mara\t") and out[-1].startswith("# all:")
    assert main(["score", str(mlp_run.path)]) == 2
    assert main(["score", str(mlp_run.path), "MARA!"]) == 2
    assert "never saw" in capsys.readouterr().err
