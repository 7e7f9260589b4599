"""The command line as a user meets it: output shapes, exit codes, one-line errors."""

import json

import pytest

from charloom.cli import main


@pytest.fixture
def trained(names_file, tmp_path, cli):
    out = tmp_path / "run"
    result = cli(
        "train",
        str(names_file),
        "--model",
        "mlp",
        "--context",
        "3",
        "--embedding",
        "8",
        "--hidden",
        "64",
        "--batchnorm",
        "--max-steps",
        "100",
        "--eval-every",
        "50",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "parameters" in result.stdout and "samples from" in result.stdout
    return out


def test_train_sample_eval_round_trip(trained, cli):
    sample = cli("sample", str(trained), "-n", "7", "--seed", "1", "--temperature", "0.8")
    assert sample.returncode == 0
    lines = sample.stdout.strip().splitlines()
    assert len(lines) == 7
    for line in lines:
        item, status, nll = line.split("\t")
        assert item.isalpha() and status in ("train", "held-out", "new") and float(nll) > 0
    again = cli("sample", str(trained), "-n", "7", "--seed", "1", "--temperature", "0.8")
    assert again.stdout == sample.stdout

    evaluated = cli("eval", str(trained), "--split", "test", "--json")
    figures = json.loads(evaluated.stdout)
    assert 0 < figures["nll"] < 3.3 and figures["bpc"] == pytest.approx(figures["nll"] / 0.6931, rel=1e-3)


def test_flags_and_positionals_mix_in_any_order(trained, tmp_path, capsys):
    items = tmp_path / "items.txt"
    items.write_text("emma\nolivia\n")
    assert main(["eval", str(trained), "--json", str(items)]) == 0  # the file after a flag
    after = json.loads(capsys.readouterr().out)
    assert main(["eval", str(trained), str(items), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == after and after["tokens"] == len("emma") + len("olivia") + 2


def test_prefix_is_continued(trained, capsys):
    assert main(["sample", str(trained), "-n", "5", "--prefix", "ma", "--seed", "0"]) == 0
    items = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert len(items) == 5 and all(item.startswith("ma") for item in items)


def test_unseen_prefix_character_is_a_one_line_error(trained, cli):
    result = cli("sample", str(trained), "--prefix", "Zq")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "'Z'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content",
    [None, b"", b"  \n", b"\x00\x01\x02binary", b"\xff\xfe\xfa\n"],
    ids=["missing", "empty", "whitespace", "binary", "not-utf8"],
)
def test_bad_data_files_exit_2_with_one_line(tmp_path, cli, content):
    path = tmp_path / "data.txt"
    if content is not None:
        path.write_bytes(content)
    result = cli("train", str(path), "--out", str(tmp_path / "out"), "--max-steps", "1")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("charloom: error:")
    assert not (tmp_path / "out" / "run.json").exists()


def test_bad_options_exit_2(names_file, tmp_path, capsys):
    assert main(["train", str(names_file), "--model", "mlp", "--n", "3"]) == 2
    assert "does not apply" in capsys.readouterr().err
    assert main(["train", str(names_file), "--model", "nope"]) == 2
    assert main(["train", str(names_file), "--max-steps", "0", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", str(names_file), "--hidden", "many"]) == 2
    assert main(["sample", str(tmp_path / "no-run")]) == 2
    assert main(["frobnicate"]) == 2


def test_data_command_reports_counts(names_file, capsys):
    assert main(["data", str(names_file), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["items"] == 400 and stats["unique_items"] <= 400
    assert sum(stats["length_histogram"].values()) == 400


def test_models_lists_every_family(capsys):
    from charloom.models.registry import FAMILIES

    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["family"] for d in listed] == list(FAMILIES)
    mlp = next(d for d in listed if d["family"] == "mlp")
    assert {"name": "context", "default": 3}.items() <= mlp["options"][0].items()
