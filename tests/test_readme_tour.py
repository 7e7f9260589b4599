"""The commands and Python names of the first README's tour still work, on tiny data.

Each command is the tour's own, in its order, with two changes only: training budgets
are cut to a fraction of a second (``--time-budget`` 0.5, ``--max-steps`` 30), and the
running text is a small file made here instead of the Shakespeare download.
"""

from __future__ import annotations

import json
import shlex

import pytest

import charloom
from charloom.cli import main

pytestmark = pytest.mark.slow  # trains a dozen small models

QUICK = {"--time-budget": "0.5", "--max-steps": "30"}

TOUR = """
datasets
data names
models
train names --model ngram --n 2 --out runs/bigram
train names --model mlp --context 3 --embedding 10 --hidden 200 --batchnorm --time-budget 120 --out runs/mlp
sample runs/mlp -n 20 --temperature 0.8
sample runs/mlp -n 5 --prefix ma --seed 1
eval runs/mlp --split test --json
train --resume --out runs/mlp --max-steps 20000
train names --model wavenet --time-budget 600
train names --model transformer --n-layer 4 --n-head 4 --n-embd 64 --block-size 16
train data/text.txt --format text --model transformer --block-size 128 --batch-size 32 --lr 3e-3 --dropout 0.15 --time-budget 600
sample runs/transformer-text --prefix "ROMEO:" --max-new-tokens 300
train data/text.txt --format text --model lstm --block-size 128 --time-budget 600
sample runs/mlp -n 10 --starts-with ma --ends-with a --max-len 7
sample runs/mlp -n 10 --contains li --min-len 6 --alphabet aeilmnorsty
sample runs/mlp -n 10 --not-in-train --unique --regex '^[^aeiou]'
sample runs/mlp -n 10 --exclude taken.txt --budget 5000
sample runs/mlp -n 5 --num-beams 5
sample runs/mlp -n 10 --best-of 20 --score novelty
sample runs/mlp -n 10 --refine 3 --score "loglik_per_char:1,novelty:0.5"
sample runs/mlp -n 10 --best-of 10 --score ratio:runs/mlp-irish
score runs/mlp emma zzyzx --bits
datasets --json
train-categories fullnames-by-country --categories english,italian,turkish,hungarian,icelandic --model gru --n-layer 1 --hidden 128 --time-budget 45 --out groups/full
transfer groups/full --names "derek vroom" "zhang wei" --cut 0.25,0.5,0.75 --best-of 16
transfer groups/full --names "derek vroom" --format html --output transfer.html
transfer groups/full --evaluate --json
train-categories names-by-country --condition category --model lstm --out groups/cond
sample groups/cond/model --category italian -n 10
neurons runs/lstm-text --text some.txt --output neurons.html
neurons runs/lstm-text --text some.txt --discover --feature 'number=[0-9]+'
neurons runs/mlp --embeddings emb.png
neurons runs/mlp --samples-timeline
train names --n-layer 5 --hidden 100 --diagnostics 20 --out runs/deep
diagnose runs/deep
init-sim --init xavier --depth 100 --width 512 --plot depth.png
"""


def quick(argv: list[str]) -> list[str]:
    """The tour's command with its training budget cut; training runs stop within seconds."""
    argv = [QUICK[prev] if prev in QUICK else arg for prev, arg in zip(["", *argv[:-1]], argv, strict=True)]
    if argv[0] in ("train", "train-categories") and not ({"--max-steps", "--resume"} & set(argv)):
        argv += ["--max-steps", QUICK["--max-steps"]]
    if argv[0] == "train-categories":
        argv += ["--classifier-steps", "20"]
    if argv[0] == "transfer" and "--evaluate" in argv:
        argv += ["--max-names", "2", "--best-of", "2"]
    return argv + (["--quiet"] if argv[0] == "train" else [])


@pytest.mark.heavy
def test_the_first_readme_tour_runs(tmp_path, monkeypatch, capsys, text_file):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    text = "ROMEO:\n" + text_file.read_text() + "call 555 0123 or 42 times.\n"
    (tmp_path / "data" / "text.txt").write_text(text, encoding="utf-8")
    (tmp_path / "some.txt").write_text("the cat sat on 12 mats.\n", encoding="utf-8")
    (tmp_path / "taken.txt").write_text("emma\nolivia\n", encoding="utf-8")
    main(["train", "names", "--model", "mlp", "--max-steps", "30", "--out", "runs/mlp-irish", "--quiet"])
    for line in TOUR.strip().splitlines():
        argv = quick(shlex.split(line))
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"charloom {line}\n{err}"
        if "--json" in argv:
            json.loads(out)
    assert (tmp_path / "neurons.html").exists() and (tmp_path / "emb.png").exists()
    assert (tmp_path / "runs" / "deep" / "report.html").exists() and (tmp_path / "depth.png").exists()


def test_the_first_readme_python_names(names_file, tmp_path):
    run = charloom.train(
        names_file,
        "mlp",
        out=tmp_path / "r",
        model_options={"batchnorm": True},
        max_steps=30,
        log=lambda m: None,
    )
    for s in run.sample(n=5, temperature=0.8, seed=0):
        assert isinstance(s.text, str) and s.new in (True, False) and s.nll_per_char > 0
    run = charloom.load_run(run.path)
    assert set(run.evaluate("test")) >= {"nll", "bpc", "perplexity", "tokens"}
    picked = run.sample(n=3, starts_with="ma", not_in_train=True, best_of=2, score="novelty", seed=1)
    assert all(s.text.startswith("ma") and s.score is not None for s in picked)
    assert picked.tried >= picked.kept and picked.summary()
    assert run.score(["emma"])[0].nll_per_char > 0

    from charloom.data.splits import Splits
    from charloom.generate import register_scorer
    from charloom.generate.pipeline import SampleOptions
    from charloom.inspect.diagnostics.checks import check_model
    from charloom.inspect.interpret.embeddings import plot_embeddings
    from charloom.inspect.interpret.neuron_page import write_neuron_page
    from charloom.inspect.interpret.neurons import builtin_features, capture, discover
    from charloom.inspect.interpret.samples_timeline import samples_timeline_html

    for name in (register_scorer, check_model, plot_embeddings, write_neuron_page, capture, discover):
        assert callable(name)
    assert callable(builtin_features) and callable(samples_timeline_html) and SampleOptions().best_of == 1
    given = Splits(["anna", "bob", "cara"], ["dan"], ["eve"])
    other = charloom.train(
        names_file, "bigram", out=tmp_path / "given", splits=given, max_steps=2, log=lambda m: None
    )
    assert other.info["data"]["splits"] == {"train": 3, "val": 1, "test": 1}
