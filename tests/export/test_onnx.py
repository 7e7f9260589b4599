"""ONNX export: every trained family's step in onnxruntime gives charloom's logits, past
the context too, and the reference sampler's greedy items are charloom's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from charloom.api import train
from charloom.cli import main
from charloom.errors import CharloomError
from charloom.export.onnx import export_onnx
from tiny_data import make_names

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onnx_sample.py"
FAMILIES = {  # every weight away from its initial value, so that no term is zero by chance
    "bigram": {},
    "mlp": {"hidden": 16, "embedding": 4, "batchnorm": True},
    "wavenet": {"context": 8, "embedding": 8, "hidden": 16},
    "rnn": {"hidden": 16},
    "gru": {"hidden": 16, "n_layer": 2},
    "lstm": {"hidden": 16, "learned_init": True},
    "transformer": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 16},
}
QUIET = {"max_steps": 30, "num_samples": 0, "log": lambda m: None, "callbacks": []}


def sampler_module():
    spec = importlib.util.spec_from_file_location("onnx_sample", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    (root / "names.txt").write_text("\n".join(make_names()) + "\n")
    (root / "text.txt").write_text("the cat sat on the mat. the dog ran far away.\n" * 40)
    made = {
        f: train(root / "names.txt", f, out=root / f, model_options=o, **QUIET) for f, o in FAMILIES.items()
    }
    for run in made.values():  # zero-initialised projections too: every term of the step counts
        with torch.no_grad():
            for parameter in run.model.parameters():
                parameter.add_(0.3 * torch.randn_like(parameter))
    made["gru-text"] = train(
        root / "text.txt", "gru", out=root / "gru-text", format="text", model_options={"hidden": 16}, **QUIET
    )
    return root, made


@pytest.mark.parametrize("family", [*FAMILIES, "gru-text"])
def test_onnxruntime_gives_charlooms_logits_past_the_context(family, runs):
    root, made = runs
    run = made[family]
    path = root / f"{family}.onnx"
    meta = export_onnx(run, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = sampler_module().OnnxGenerator(str(path))
    torch.manual_seed(0)
    rows, steps = 3, 40  # longer than every context above
    sequence = torch.randint(0, run.vocab.size, (rows, steps))
    state, onnx_state = run.model.init_state(rows), generator.start(rows)
    for t in range(steps):
        with torch.no_grad():
            expected, state = run.model(sequence[:, t : t + 1], state)
            expected = expected[:, -1]
        got, *after = session.run(None, {"token": sequence[:, t].numpy(), **onnx_state})
        onnx_state = dict(zip(meta["inputs"][1:], after, strict=True))
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=1e-4, err_msg=f"step {t}")


@pytest.mark.parametrize("family", [*FAMILIES, "gru-text"])
def test_the_reference_sampler_draws_charlooms_greedy_items(family, runs):
    root, made = runs
    run = made[family]
    path = root / f"{family}-greedy.onnx"
    export_onnx(run, path)
    generator = sampler_module().OnnxGenerator(str(path))
    prefixes = ["the "] if run.format == "text" else ["", "ma", "ke"]
    for prefix in prefixes:
        [ours] = generator.generate(1, prefix, temperature=0, max_new_tokens=30)
        [theirs] = run.sample(1, temperature=0, prefix=prefix, max_new_tokens=30)
        if theirs.finished and ours != theirs.text and prefix:
            # a prefix is a constraint in charloom: its mask ends an item that would run past
            # --max-new-tokens at the last place, where the sampler here cuts it instead
            assert ours.startswith(theirs.text) and len(ours) == len(prefix) + 30, prefix
        else:
            assert ours == theirs.text, prefix
    drawn = generator.generate(5, prefixes[-1], temperature=1.0, top_k=5, seed=0, max_new_tokens=30)
    assert len(drawn) == 5 and all(item.startswith(prefixes[-1]) for item in drawn)


def test_the_command_writes_the_file_and_refuses_in_one_line(runs, tmp_path, capsys):
    root, made = runs
    assert main(["export", str(made["gru"].path), "--output", str(tmp_path / "gru.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "gru.onnx").stat().st_size > 1_000
    counted = train(root / "names.txt", "ngram", out=tmp_path / "ngram", model_options={"n": 2}, **QUIET)
    with pytest.raises(CharloomError, match="table of counts"):
        export_onnx(counted, tmp_path / "ngram.onnx")
    assert not (tmp_path / "ngram.onnx").exists()
    assert main(["export", str(made["gru"].path), "--output", str(tmp_path / "no" / "x.onnx")]) == 2
    assert "no folder" in capsys.readouterr().err
    names = root / "names.txt"  # a file of the user's under any other name is never replaced
    before = names.read_bytes()
    assert main(["export", str(made["gru"].path), "--output", str(names)]) == 2
    assert "end in .onnx" in capsys.readouterr().err and names.read_bytes() == before
