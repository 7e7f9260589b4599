"""Careless and hostile use of run folders and model sizes: one line, exit 2, nothing touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import charloom
from charloom.cli import main
from charloom.errors import CharloomError
from charloom.models.registry import make_config, model_class
from charloom.models.size import check_size
from charloom.rundir import RunDir

QUICK = ["--model", "bigram", "--max-steps", "2", "--eval-every", "1", "--num-samples", "0", "--quiet"]


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def one_line_error(code: int, err: str, *pieces: str) -> None:
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("charloom: error:"), err
    for piece in pieces:
        assert piece in err, err


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_naming_an_existing_file_is_refused_and_the_file_kept(names_file, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    one_line_error(*run(["train", str(names_file), "--out", str(target), *QUICK], capsys), "is a file")
    assert target.read_text() == "mine\n"


def test_a_folder_of_the_users_files_is_refused_and_force_replaces_nothing_of_theirs(
    names_file, tmp_path, capsys
):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("do not lose me")
    (out / "data").mkdir()
    (out / "data" / "raw.csv").write_text("1,2,3")
    before = files(out)
    one_line_error(*run(["train", str(names_file), "--out", str(out), *QUICK], capsys), "not a charloom run")
    assert files(out) == before
    assert run(["train", str(names_file), "--out", str(out), "--force", *QUICK], capsys)[0] == 0
    after = files(out)
    assert all(after[name] == content for name, content in before.items())
    assert charloom.load_run(out).sample(n=2, seed=0)


def test_out_dot_in_a_folder_with_files_is_refused(names_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = files(tmp_path)
    one_line_error(*run(["train", str(names_file), "--out", ".", *QUICK], capsys), "not a charloom run")
    assert files(tmp_path) == before


def test_a_folder_that_cannot_be_made_is_one_line(names_file, tmp_path, capsys, monkeypatch):
    def read_only(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", read_only)
    one_line_error(
        *run(["train", str(names_file), "--out", str(tmp_path / "new"), *QUICK], capsys), "Permission denied"
    )


def test_a_run_folder_through_a_symlink(names_file, tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    os.symlink(real, link)
    assert run(["train", str(names_file), "--out", str(link / "run"), *QUICK], capsys)[0] == 0
    assert (real / "run" / "model.safetensors").exists()
    assert charloom.load_run(link / "run").evaluate("val")["nll"] > 0


def test_a_second_trainer_on_the_same_folder_is_refused(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(["train", str(names_file), "--out", str(out), *QUICK], capsys)[0] == 0
    before = files(out)
    with RunDir(out).claim():  # as if another process were training it
        for argv in (
            ["train", str(names_file), "--out", str(out), "--force", *QUICK],
            ["train", "--resume", "--out", str(out), "--max-steps", "4"],
        ):
            one_line_error(*run(argv, capsys), "being trained by another process")
    assert files(out) == before
    assert run(["train", "--resume", "--out", str(out), "--max-steps", "4", "--quiet"], capsys)[0] == 0


def test_a_run_can_be_sampled_while_it_trains(names_file, tmp_path):
    out = tmp_path / "run"
    seen: list[int] = []

    class SampleMeanwhile(charloom.Callback):
        def on_eval(self, trainer, entry: dict) -> None:
            if entry["step"] > 0:  # a best model is on disk from the step-0 evaluation on
                seen.append(len(charloom.load_run(out).sample(n=3, seed=entry["step"])))

    charloom.train(
        names_file,
        "mlp",
        out=out,
        max_steps=6,
        eval_every=2,
        callbacks=[SampleMeanwhile()],
        log=lambda m: None,
    )
    assert seen == [3, 3, 3]


@pytest.mark.parametrize(
    "flags",
    [
        ["--model", "transformer", "--n-embd", "10000000", "--n-head", "1"],
        ["--model", "transformer", "--n-embd", "1048576", "--n-layer", "4096", "--n-head", "1"],
        ["--model", "lstm", "--hidden", "100000000"],
        ["--model", "mlp", "--embedding", "50000", "--context", "100000"],
        ["--model", "transformer", "--block-size", "1000000000000"],  # rotary's table, not parameters
    ],
)
def test_absurd_sizes_on_the_command_line_are_refused_before_any_tensor(names_file, tmp_path, capsys, flags):
    out = tmp_path / "big"
    argv = ["train", str(names_file), *flags, "--out", str(out), "--max-steps", "1", "--quiet"]
    one_line_error(*run(argv, capsys), "parameters", "GB", "CHARLOOM_MEMORY_LIMIT")
    assert not out.exists()


def test_absurd_sizes_in_a_run_json_are_refused(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        run(["train", str(names_file), "--model", "transformer", "--out", str(out), *QUICK[2:]], capsys)[0]
        == 0
    )
    info = json.loads((out / "run.json").read_text())
    saved = json.dumps(info)
    for absurd, named in (
        ({"n_embd": 1_048_576, "n_layer": 4_096, "n_head": 1}, "parameters"),
        ({"block_size": 10**12}, "numbers of fixed tables"),  # rotary positions' rotations
    ):
        tampered = json.loads(saved)
        tampered["model"]["config"].update(absurd)
        (out / "run.json").write_text(json.dumps(tampered))
        before = files(out)
        for argv in (["sample", str(out)], ["eval", str(out)], ["score", str(out), "anna"]):
            one_line_error(*run(argv, capsys), named)
        assert files(out) == before


def test_the_memory_limit_can_be_set_and_lifted(monkeypatch):
    cls, config = model_class("mlp"), make_config("mlp")
    monkeypatch.setenv("CHARLOOM_MEMORY_LIMIT", "0.00001")  # 10 kB: even the default MLP is too big
    with pytest.raises(CharloomError, match="to train"):
        check_size(cls, config, 27, "train")
    monkeypatch.setenv("CHARLOOM_MEMORY_LIMIT", "off")
    huge = make_config("transformer", {"n_embd": 1_048_576, "n_layer": 4_096, "n_head": 1})
    assert check_size(model_class("transformer"), huge, 27, "train") > 10**15
    monkeypatch.setenv("CHARLOOM_MEMORY_LIMIT", "lots")
    with pytest.raises(CharloomError, match="number of GB"):
        check_size(cls, config, 27)
