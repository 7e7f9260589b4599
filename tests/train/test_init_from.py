"""Fine-tuning (``--init-from``): a child run starts exactly where its parent ended, for every
trained family, with the vocabulary grown by the characters the parent never saw."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from charloom.api import train
from charloom.cli import main
from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.models.registry import build_model, make_config
from charloom.run import load_run
from charloom.train.config import FINE_TUNE_LR_SCALE
from charloom.train.init_from import inherited_options, read_parent, start_from_parent
from tiny_data import make_names

TRAINED = {
    "bigram": {},
    "mlp": {"hidden": 16, "embedding": 4, "batchnorm": True},
    "wavenet": {"context": 8, "embedding": 8, "hidden": 16},
    "rnn": {"hidden": 16},
    "gru": {"hidden": 16},
    "lstm": {"hidden": 16},
    "transformer": {"n_layer": 1, "n_head": 2, "n_embd": 16},
}
QUIET = {"max_steps": 6, "eval_every": 3, "num_samples": 0, "log": lambda m: None, "callbacks": []}
NEW_NAMES = ["zoë", "chloé", "renée", "émile", "noël", "anaïs"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("init-from")
    names = make_names()
    (folder / "parent.txt").write_text("\n".join(names) + "\n")
    (folder / "child.txt").write_text("\n".join(NEW_NAMES * 5 + names[:40]) + "\n")
    return folder


@pytest.fixture(scope="module")
def parents(files):
    return {
        family: train(files / "parent.txt", family, out=files / family, model_options=options, **QUIET)
        for family, options in TRAINED.items()
    }


@pytest.mark.parametrize("family", sorted(TRAINED))
def test_the_child_gives_the_parents_logits_for_every_character_it_knew(family, parents):
    parent_run = parents[family]
    parent = read_parent(parent_run.path, family, "lines")
    grown = Vocab.from_texts([*NEW_NAMES, "".join(parent.vocab.chars)])
    options = inherited_options(parent, None)
    torch.manual_seed(1)
    child = build_model(family, make_config(family, options), grown.size)
    untouched = {name: t.clone() for name, t in child.state_dict().items()}
    added = start_from_parent(child, grown, parent, options)
    assert added == sorted({c for name in NEW_NAMES for c in name} - set(parent.vocab.chars))

    text = "kalia"  # every character known to the parent
    old_ids = torch.tensor([[0, *parent.vocab.encode(text)]])
    new_ids = torch.tensor([[0, *grown.encode(text)]])
    child.eval()
    with torch.no_grad():
        before, _ = parent_run.model(old_ids)
        after, _ = child(new_ids)
    kept = torch.tensor([0, *(grown.encode(c)[0] for c in parent.vocab.chars)])
    torch.testing.assert_close(after[..., kept], before, atol=1e-5, rtol=1e-5)
    # the rows of the new characters are the family's own initialisation, not zeros or copies
    new_rows = torch.tensor([grown.encode(c)[0] for c in added])
    for name, tensor in child.state_dict().items():
        if tensor.shape and tensor.shape[0] == grown.size:
            assert torch.equal(tensor[new_rows], untouched[name][new_rows]), name


def test_a_run_started_from_another_records_it_and_takes_a_lower_rate(files, parents):
    logged = []
    run = train(
        files / "child.txt",
        init_from=parents["transformer"].path,
        out=files / "child",
        **{**QUIET, "log": logged.append},
    )
    assert run.family == "transformer" and "ë" in run.vocab
    parent_json = (parents["transformer"].path / "run.json").read_bytes()
    record = json.loads((run.path / "run.json").read_text())["init_from"]
    assert record["run_json_sha256"] == hashlib.sha256(parent_json).hexdigest()
    fresh = train(
        files / "child.txt", "transformer", out=files / "fresh", model_options=TRAINED["transformer"], **QUIET
    )
    assert run.info["train"]["lr"] == pytest.approx(fresh.info["train"]["lr"] * FINE_TUNE_LR_SCALE)
    assert any("never saw" in line and "ë" in line for line in logged)
    assert load_run(run.path).model.num_parameters() > parents["transformer"].model.num_parameters()


def test_what_cannot_start_from_a_run_is_refused_in_one_line(files, parents, tmp_path, capsys):
    transformer = str(parents["transformer"].path)
    cases = [
        (["--init-from", transformer, "--n-embd", "32"], "--n-embd (16 there, 32 given)"),
        (["--init-from", transformer, "--model", "mlp"], "is a transformer run"),
        (["--init-from", str(tmp_path)], "no run there"),
        (["--init-from", transformer, "--format", "text"], "trained on lines data"),
    ]
    for extra, message in cases:
        assert main(["train", str(files / "child.txt"), "--out", str(tmp_path / "refused"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / "refused").exists()
    counted = train(files / "parent.txt", "ngram", out=tmp_path / "ngram", model_options={"n": 2}, **QUIET)
    with pytest.raises(CharloomError, match="counted, not trained"):
        train(files / "child.txt", init_from=counted.path, out=tmp_path / "refused", **QUIET)
    with pytest.raises(CharloomError, match="give one of them"):
        train(files / "child.txt", init_from=transformer, resume=True, out=tmp_path / "refused")
