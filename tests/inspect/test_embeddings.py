"""The character embedding, found in any family, projected by PCA."""

import numpy as np
import pytest

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.inspect.interpret.embeddings import char_kind, pca_2d, plot_embeddings, token_embedding
from charloom.models.registry import build_model, make_config

FAMILIES = {
    "mlp": {"context": 3, "embedding": 4, "hidden": 8},
    "wavenet": {"context": 4, "embedding": 4, "hidden": 8},
    "lstm": {"n_layer": 1, "hidden": 8, "embedding": 4},
    # block_size == vocab size: the position embedding has as many rows, the token one comes first
    "transformer": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 6},
}


@pytest.mark.parametrize("family", FAMILIES)
def test_the_token_embedding_is_found_in_every_family_that_has_one(family):
    vocab = Vocab.from_texts(["abcde"])
    model = build_model(family, make_config(family, FAMILIES[family]), vocab.size)
    embedding = token_embedding(model, vocab.size)
    assert embedding.num_embeddings == vocab.size
    if family == "transformer":
        assert embedding is model.wte


def test_count_models_have_no_embedding():
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(CharloomError, match="no character embedding"):
        token_embedding(build_model("bigram", make_config("bigram", {}), vocab.size), vocab.size)


def test_pca_keeps_the_directions_of_largest_variance():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(40, 5)) * [10, 3, 0.1, 0.1, 0.1]
    coords, variance = pca_2d(points)
    assert coords.shape == (40, 2) and variance[0] > 0.85 and variance[0] + variance[1] > 0.99
    assert abs(np.corrcoef(coords[:, 0], points[:, 0])[0, 1]) > 0.99


def test_plot_is_written(quote_run, tmp_path):
    assert [char_kind(c) for c in "aZ1"] == ["vowel", "consonant", "other"]
    path = plot_embeddings(quote_run.model, quote_run.vocab, tmp_path / "emb.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
