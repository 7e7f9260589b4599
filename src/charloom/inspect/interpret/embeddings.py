"""Where a model puts its characters: a 2-D PCA of the token embedding.

In makemore's MLP the embedding C has a row per character; after training, characters
that behave alike sit close together (the vowels, usually, in one corner). PCA projects
the rows onto the two directions of largest variance:

    X = C - mean(C)         (V, E), one centred row per character
    X = U S W^T             singular value decomposition
    coords = X W[:, :2]     (V, 2); S_k^2 / sum S^2 is the share of variance kept
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError

VOWELS = set("aeiouyAEIOUYàáâäæãåāèéêëēėęîïíīįìôöòóœøōõûüùúūÿ")


def token_embedding(model: nn.Module, vocab_size: int) -> nn.Embedding:
    """The first ``nn.Embedding`` with a row per token: the characters' embedding, in any
    family (position embeddings have a row per position instead)."""
    for module in model.modules():
        if isinstance(module, nn.Embedding) and module.num_embeddings == vocab_size:
            return module
    raise CharloomError(
        "this model has no character embedding to plot (no nn.Embedding with a row per "
        "character); the mlp, wavenet, recurrent and transformer families have one"
    )


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``matrix`` (V, E) projected on its two principal directions -> (V, 2),
    and the share of variance each direction explains (2,)."""
    centred = matrix - matrix.mean(axis=0)
    _, s, wt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ wt[:2].T
    if coords.shape[1] < 2:  # a 1-dimensional embedding: put everything on a line
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    variance = s**2 / max(float((s**2).sum()), 1e-12)
    return coords, np.pad(variance[:2], (0, max(0, 2 - len(variance[:2]))))


def char_kind(char: str) -> str:
    if char in VOWELS:
        return "vowel"
    if char.isalpha():
        return "consonant"
    return "other"


def plot_embeddings(model: nn.Module, vocab: Vocab, path: str | Path, title: str = "") -> Path:
    """Write a PNG scatter of the characters in the embedding's first two principal
    components: vowels red, consonants blue, everything else grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weight = token_embedding(model, vocab.size).weight.detach().float().cpu().numpy()
    coords, variance = pca_2d(weight)
    colours = {"vowel": "tab:red", "consonant": "tab:blue", "other": "tab:gray"}
    fig, ax = plt.subplots(figsize=(7, 7))
    for token_id in range(vocab.size):
        symbol = vocab.symbol(token_id)
        label = {"\n": "\\n", " ": "␣", "\t": "\\t"}.get(symbol, symbol)
        kind = "other" if vocab.boundary and token_id == 0 else char_kind(symbol)
        x, y = coords[token_id]
        ax.scatter(x, y, s=260, color=colours[kind], alpha=0.25)
        ax.text(x, y, label, ha="center", va="center", fontsize=10, color=colours[kind])
    for kind, colour in colours.items():
        ax.scatter([], [], color=colour, label=kind)
    ax.legend(loc="best")
    ax.set_xlabel(f"PC 1 ({variance[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({variance[1]:.0%} of variance)")
    ax.set_title(title or "character embeddings, PCA")
    ax.grid(alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
