"""A character n-gram category classifier: softmax regression on hashed n-grams.

    features(x) = the n-grams (n = 1..ngram_max) of '^' + x + '$', each hashed into one
                  of ``buckets`` rows (crc32, the same on every machine and run)
    logits(x)   = mean over the n-grams of W[bucket] + b            W: (buckets, K)
    p(c | x)    = softmax(logits(x))

It is trained apart from the generators, on their training splits, and is what measures
style transfer; the generators' own likelihood-ratio judge only reranks. Training is
full-batch AdamW, keeping the weights with the best validation accuracy; on CPU it takes
seconds. Saved as safetensors (weights) + JSON (config, categories, figures), never pickle.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from charloom import io
from charloom.errors import CharloomError


@dataclass
class ClassifierConfig:
    ngram_max: int = 4
    buckets: int = 1 << 15
    steps: int = 150
    lr: float = 0.05
    weight_decay: float = 1e-5
    seed: int = 0


def ngram_ids(text: str, ngram_max: int, buckets: int) -> list[int]:
    """Hashed bucket of every n-gram of '^text$', n = 1..ngram_max."""
    framed = f"^{text}$"
    return [
        zlib.crc32(f"{n}:{framed[i : i + n]}".encode()) % buckets
        for n in range(1, ngram_max + 1)
        for i in range(len(framed) - n + 1)
    ]


class NgramClassifier(nn.Module):
    """p(category | string) from hashed character n-grams.

    >>> clf = NgramClassifier(["a", "b"]).fit({"a": ["anna"], "b": ["bob"]})  # doctest: +SKIP
    >>> clf.predict_proba(["annabel"])                                         # doctest: +SKIP
    """

    def __init__(self, categories: list[str], config: ClassifierConfig | None = None):
        super().__init__()
        if len(categories) < 2:
            raise CharloomError(f"a classifier needs at least 2 categories, got {len(categories)}")
        self.categories = list(categories)
        self.config = config or ClassifierConfig()
        self.weight = nn.EmbeddingBag(self.config.buckets, len(categories), mode="mean")
        nn.init.zeros_(self.weight.weight)
        self.bias = nn.Parameter(torch.zeros(len(categories)))
        self.history_: list[dict] = []

    def _encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = [ngram_ids(t, self.config.ngram_max, self.config.buckets) for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
        return torch.tensor([j for i in ids for j in i], dtype=torch.long), offsets

    def forward(self, texts: list[str]) -> torch.Tensor:
        """logits[N, K]."""
        flat, offsets = self._encode(texts)
        return self.weight(flat, offsets) + self.bias

    @torch.no_grad()
    def predict_proba(self, texts: list[str]) -> torch.Tensor:
        if not texts:
            return torch.zeros(0, len(self.categories))
        return torch.softmax(self.forward(texts), dim=1)

    def fit(self, train: dict[str, list[str]], val: dict[str, list[str]] | None = None) -> NgramClassifier:
        """Full-batch AdamW on the training items; the best weights by validation accuracy are kept."""
        texts, labels = _flatten(train, self.categories)
        flat, offsets = self._encode(texts)
        target = torch.tensor(labels)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(self.config.seed)
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        val_texts, val_labels = _flatten(val, self.categories) if val else ([], [])
        val_flat, val_offsets = self._encode(val_texts) if val_texts else (None, None)
        best, best_state = -1.0, None
        for step in range(1, self.config.steps + 1):
            loss = F.cross_entropy(self.weight(flat, offsets) + self.bias, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if val_texts and (step % 25 == 0 or step == self.config.steps):
                with torch.no_grad():
                    guesses = (self.weight(val_flat, val_offsets) + self.bias).argmax(dim=1)
                accuracy = (guesses == torch.tensor(val_labels)).double().mean().item()
                self.history_.append({"step": step, "train_loss": loss.item(), "val_accuracy": accuracy})
                if accuracy > best:
                    best, best_state = accuracy, {k: v.clone() for k, v in self.state_dict().items()}
        if best_state is not None:
            self.load_state_dict(best_state)
        torch.random.set_rng_state(generator_state)
        return self

    def evaluate(self, data: dict[str, list[str]]) -> dict:
        """Accuracy, per-category accuracy (recall) and the confusion matrix
        (rows: true category, columns: predicted), on items grouped by category."""
        texts, labels = _flatten(data, self.categories)
        predicted = self.predict_proba(texts).argmax(dim=1).tolist()
        k = len(self.categories)
        confusion = [[0] * k for _ in range(k)]
        for truth, guess in zip(labels, predicted, strict=True):
            confusion[truth][guess] += 1
        per_category = {
            c: confusion[i][i] / max(sum(confusion[i]), 1)
            for i, c in enumerate(self.categories)
            if sum(confusion[i])
        }
        correct = sum(confusion[i][i] for i in range(k))
        return {
            "accuracy": correct / max(len(labels), 1),
            "items": len(labels),
            "per_category": per_category,
            "categories": self.categories,
            "confusion": confusion,
        }

    # -- files --------------------------------------------------------------------------
    def save(self, folder: str | Path, figures: dict | None = None) -> None:
        """``classifier.safetensors`` + ``classifier.json`` in ``folder``."""
        folder = Path(folder)
        io.save_tensors(folder / "classifier.safetensors", self.state_dict(), {"kind": "ngram-classifier"})
        io.atomic_write_json(
            folder / "classifier.json",
            {
                "kind": "ngram-classifier",
                "categories": self.categories,
                "config": asdict(self.config),
                "figures": figures or {},
                "history": self.history_,
            },
        )

    @classmethod
    def load(cls, folder: str | Path) -> NgramClassifier:
        folder = Path(folder)
        path = folder / "classifier.json"
        if not path.exists():
            raise CharloomError(f"{folder} has no classifier (no classifier.json); train the group again")
        info = json.loads(path.read_text(encoding="utf-8"))
        model = cls(info["categories"], ClassifierConfig(**info["config"]))
        model.load_state_dict(io.load_tensors(folder / "classifier.safetensors")[0])
        model.eval()
        return model


def _flatten(data: dict[str, list[str]], categories: list[str]) -> tuple[list[str], list[int]]:
    unknown = [c for c in data if c not in categories]
    if unknown:
        known = ", ".join(categories)
        raise CharloomError(f"the classifier knows no category {unknown[0]!r}; it knows {known}")
    texts = [t for c, items in data.items() for t in items]
    labels = [categories.index(c) for c, items in data.items() for _ in items]
    return texts, labels


def format_confusion(figures: dict) -> str:
    """The confusion matrix as a text table, categories abbreviated to 6 letters."""
    cats = figures["categories"]
    short = [c[:6] for c in cats]
    lines = ["true \\ pred " + " ".join(f"{s:>6}" for s in short) + "  recall"]
    for i, row in enumerate(figures["confusion"]):
        recall = figures["per_category"].get(cats[i])
        lines.append(
            f"{short[i]:<11} "
            + " ".join(f"{v:>6}" for v in row)
            + ("" if recall is None else f"  {recall:.3f}")
        )
    return "\n".join(lines)


__all__ = ["ClassifierConfig", "NgramClassifier", "format_confusion", "ngram_ids"]
