"""Same seed and config, same numbers: sequence models with dropout too; and the one
rule for inputs longer than the context."""

import json

import pytest

from charloom.api import train
from charloom.errors import CharloomError

QUIET = {"log": lambda message: None}
TIMING = ("tokens_per_s", "train_seconds")
SHORT = ["kalo", "mira", "sune", "tiva", "elan", "rasu", "lomi", "neka", "vomi", "anel", "kami", "sola"] * 3


@pytest.mark.parametrize(
    "family, options",
    [
        ("gru", {"hidden": 12, "embedding": 6, "n_layer": 2, "dropout": 0.2}),
        ("transformer", {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "dropout": 0.1}),
    ],
)
def test_same_seed_same_metrics_and_samples(names_file, tmp_path, family, options):
    def run(out):
        train(
            names_file,
            family,
            out=out,
            model_options=options,
            max_steps=16,
            eval_every=8,
            batch_size=8,
            seed=11,
            num_samples=2,
            **QUIET,
        )
        metrics = [
            {k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in (out / "metrics.jsonl").read_text().splitlines()
        ]
        return metrics, (out / "samples.txt").read_text()

    assert run(tmp_path / "a") == run(tmp_path / "b")


@pytest.fixture(scope="module")
def short_names(tmp_path_factory):
    path = tmp_path_factory.mktemp("short") / "short.txt"
    path.write_text("\n".join(SHORT) + "\n")
    return path


def test_transformer_refuses_items_and_prefixes_longer_than_its_block(short_names, names_file, tmp_path):
    tiny = {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 6}
    with pytest.raises(CharloomError, match="block_size"):  # training items up to 16 characters
        train(names_file, "transformer", out=tmp_path / "long", model_options=tiny, max_steps=1, **QUIET)
    assert not (tmp_path / "long").exists()
    run = train(
        short_names,
        "transformer",
        out=tmp_path / "t",
        model_options=tiny,
        max_steps=2,
        num_samples=1,
        **QUIET,
    )
    assert run.sample(n=2, prefix="kalom", seed=0)[0].text.startswith("kalom")  # 5 + boundary = 6
    with pytest.raises(CharloomError, match="at most 5"):
        run.sample(n=1, prefix="kalomi", seed=0)
    with pytest.raises(CharloomError, match="at most 5"):
        run.evaluate(file=_write(tmp_path / "score.txt", "kalomira\n"))


def test_window_and_recurrent_models_read_long_prefixes(short_names, tmp_path):
    for family, options in (("mlp", {"context": 2}), ("gru", {"hidden": 8, "embedding": 4, "n_layer": 1})):
        run = train(
            short_names,
            family,
            out=tmp_path / family,
            model_options=options,
            max_steps=2,
            num_samples=1,
            **QUIET,
        )
        prefix = "kalomirasunetiva" * 2
        assert run.sample(n=1, prefix=prefix, seed=0, max_new_tokens=3)[0].text.startswith(prefix)
        assert run.evaluate(file=_write(tmp_path / "long.txt", prefix + "\n"))["nll"] > 0


def _write(path, text):
    path.write_text(text)
    return path
