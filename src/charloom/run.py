"""The Run facade: a trained run on disk (``rundir.RunDir``), opened to be used: sample
from it, score items under it, evaluate it on a split or a file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from charloom.data.batches import Batches, encode_items
from charloom.data.conditions import TOKEN_BASE, categories_of, token_for
from charloom.data.corpus import parse_lines, read_text_file
from charloom.data.loading import make_batches, text_block
from charloom.data.tokens import encode_text
from charloom.errors import CharloomError
from charloom.generate.explore import next_chars
from charloom.generate.pipeline import SampleOptions, sample_run
from charloom.generate.samples import Novelty, Samples
from charloom.generate.scoring import ItemScores, score_items
from charloom.generate.streaming import Stream, stream_run
from charloom.models.context import check_fits
from charloom.models.likelihood import evaluate
from charloom.models.saved import load_model
from charloom.options import check_count
from charloom.rundir import RunDir

CHUNK = 10_000  # items sampled or scored at a time when there are many


class Run:
    """A trained run: its model (best-by-val weights), vocabulary and data.

    >>> run = load_run("runs/mlp-names")          # doctest: +SKIP
    >>> [s.text for s in run.sample(n=3, seed=0)]  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, weights: str = "model", device: str = "auto"):
        self.path = Path(path)
        self.dir = RunDir(self.path)
        self.info = self.dir.read_info()
        self.model, self.vocab, _ = load_model(self.info, self.dir.weights_path(weights), device)
        self._novelty: Novelty | None = None
        self._longest_train_item: int | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, family={self.family!r}, parameters={self.model.num_parameters():,})"

    @property
    def family(self) -> str:
        return self.info["model"]["family"]

    @property
    def format(self) -> str:
        return self.info["data"]["format"]

    # -- data --------------------------------------------------------------------
    def split_text(self, split: str) -> str:
        return self.dir.split_text(split)

    def split_items(self, split: str) -> list[str]:
        return parse_lines(self.split_text(split), split)

    @property
    def novelty(self) -> Novelty:
        """The run's splits, for marking items train, held-out or new (line mode; every
        passage of running text is new)."""
        if self._novelty is None:
            lines = self.format == "lines"
            train = self.split_items("train") if lines else ()
            held_out = [*self.dir.split_lines("val"), *self.dir.split_lines("test")] if lines else ()
            self._novelty = Novelty(train, held_out)
        return self._novelty

    @property
    def train_set(self) -> set[str]:
        """Training items, for telling new samples from remembered ones."""
        return self.novelty.train

    @property
    def held_out_set(self) -> set[str]:
        """Val and test items: real items the model never trained on."""
        return self.novelty.held_out

    def seen(self, text: str) -> str:
        """The novelty mark of an item: ``train``, ``held-out`` or ``new`` (in no split)."""
        return self.novelty.mark(text)

    @property
    def longest_train_item(self) -> int | None:
        """Characters in the longest training item (None in text mode): sampling's natural
        length cap, kept here since finding it takes a pass over the whole training set."""
        if self._longest_train_item is None and self.format == "lines":
            self._longest_train_item = max(map(len, self.train_set), default=None)
        return self._longest_train_item

    def batches_for(self, items: list[str] | str, where: str = "item") -> Batches:
        """Encode items (line mode) or a text (text mode) the way training did."""
        if self.format == "lines":
            data: Any = encode_items(list(items), self.vocab, where)
            check_fits(self.model, max(len(item) for item in items), f"the longest {where}", True)
        else:
            data = encode_text(items, self.vocab, where)  # read as training reads its token file
        block = text_block(self.info["train"].get("block_size"), self.model.context_size)
        stateful = bool(self.info["train"].get("stateful"))  # read in order, the state carried
        return make_batches(self.model.training_layout, data, self.model.context_size, block, stateful)

    # -- use ---------------------------------------------------------------------
    def evaluate(self, split: str = "val", file: str | Path | None = None) -> dict[str, Any]:
        """Mean NLL (nats per character), bits per character and perplexity."""
        if file is not None:
            text = read_text_file(file)
            data: Any = parse_lines(text, str(file)) if self.format == "lines" else text
            label = str(file)
        else:
            data = self.split_items(split) if self.format == "lines" else self.split_text(split)
            label = split
        result = evaluate(self.model, self.batches_for(data, where=f"{label} item"))
        return {"run": str(self.path), "data": label, **result}

    @property
    def categories(self) -> list[str]:
        """The categories of a conditional run (``--condition category``); [] otherwise."""
        return categories_of(self.info)

    def sample(
        self, n: int = 10, *, seed: int | None = None, category: str | None = None, **options: Any
    ) -> Samples:
        """Generate ``n`` items. Options (see ``charloom.generate.pipeline.SampleOptions``):
        the logits processors' controls (temperature, top_k, top_p, min_p, typical_p,
        repetition_penalty, no_repeat_ngram_size, and any processor registered since),
        prefix, max_new_tokens, min_new_tokens; constraints starts_with, ends_with, contains,
        regex, min_len, max_len, alphabet, not_in_train, new, unique, exclude, bad_words,
        budget; search num_beams, length_penalty, best_of, score, refine.

        Returns a list of ``Sample`` (``text``, ``logprob``, ``nll_per_char``, ``seen``: the
        novelty mark train / held-out / new, ``score``) with the search statistics as
        attributes (``tried``, ``kept``, ``exhausted``, ``marks()``, ``summary()``). Same
        seed, same items.

        A conditional run needs ``category`` (one of ``run.categories``); its token is
        continued as a prefix and left out of the texts returned.

        >>> run.sample(n=5, seed=0, starts_with="ma", max_len=6, not_in_train=True)  # doctest: +SKIP
        """
        token, options = self._category_options(category, options)
        samples = sample_run(self, n, seed, SampleOptions.from_kwargs(options))
        for sample in samples:
            sample.text = sample.text[len(token) :]
        return samples

    def stream(self, *, seed: int | None = None, category: str | None = None, **options: Any) -> Stream:
        """One item, its characters yielded as they are drawn (the prefix first); the
        options are ``sample``'s, less those that judge a finished item. ``"".join`` of it
        is ``sample(n=1)``'s text under the same seed; afterwards ``.sample`` holds the
        finished ``Sample``.

        >>> for piece in run.stream(prefix="ROMEO:", max_new_tokens=400):  # doctest: +SKIP
        ...     print(piece, end="", flush=True)
        """
        token, options = self._category_options(category, options)
        return stream_run(self, seed, SampleOptions.from_kwargs(options), hidden=len(token))

    def next_chars(
        self, prefix: str = "", *, top: int = 10, temperature: float = 1.0, category: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``top`` most likely next characters after ``prefix``, with their probability
        at ``temperature``, most likely first; ``""`` is the end of the item.

        >>> run.next_chars("ma", top=3)  # doctest: +SKIP
        [('r', 0.21), ('k', 0.12), ('l', 0.09)]
        """
        token = token_for(self.info, category)
        tokens = [c for c in self.vocab.chars if ord(c) >= TOKEN_BASE] if token else []
        return next_chars(
            self.model, self.vocab, token + prefix, temperature=temperature, top=top, hide=tokens
        )

    def _category_options(self, category: str | None, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A conditional run continues the category's token as a prefix, the other
        categories' tokens masked; the token is left out of what is returned."""
        token = token_for(self.info, category)
        if not token:
            return "", options
        real = [c for c in self.vocab.chars if ord(c) < TOKEN_BASE]
        alphabet = options.get("alphabet")
        keep = [c for c in real if alphabet is None or c in alphabet]
        return token, {
            **options,
            "prefix": token + options.get("prefix", ""),
            "alphabet": "".join(keep) + token,
        }

    def sample_chunks(
        self, n: int, *, seed: int | None = None, chunk: int = CHUNK, **options: Any
    ) -> Iterator[Samples]:
        """``sample`` in pieces of at most ``chunk`` items, each yielded as soon as it is
        drawn, so that millions of items stream in bounded memory. ``unique`` holds across
        the pieces and ``budget`` caps the draws of all of them together; up to ``chunk``
        items this is one ``sample`` call, with the same items.

        >>> for piece in run.sample_chunks(1_000_000, seed=0):   # doctest: +SKIP
        ...     write(piece)
        """
        check_count(n)
        budget, unique = options.get("budget"), options.get("unique", False)
        taken: set[str] = set()
        done, piece = 0, 0
        while done < n:
            wanted = min(chunk, n - done)
            if unique and taken:
                options = {**options, "exclude": set(options.get("exclude") or ()) | taken}
            if budget is not None:
                options = {**options, "budget": budget}
            samples = self.sample(wanted, seed=None if seed is None else seed + piece, **options)
            yield samples
            done, piece = done + len(samples), piece + 1
            if unique:
                taken.update(s.text for s in samples)
            if budget is not None:
                budget -= samples.tried
            if samples.exhausted or (budget is not None and budget < 1):
                return

    def score(self, items: str | list[str]) -> ItemScores:
        """Each item's likelihood: total and per-character NLL (nats; the end boundary counts,
        as in ``evaluate``) and the surprisal of every character."""
        items = [items] if isinstance(items, str) else list(items)
        return score_items(self.model, self.vocab, items)

    def score_chunks(self, items: Iterable[str], chunk: int = CHUNK) -> Iterator[ItemScores]:
        """``score`` in pieces of at most ``chunk`` items, for files of millions of lines."""
        batch: list[str] = []
        for item in items:
            batch.append(item)
            if len(batch) == chunk:
                yield self.score(batch)
                batch = []
        if batch:
            yield self.score(batch)


def load_run(path: str | Path, weights: str = "model", device: str = "auto") -> Run:
    """Open a run directory; ``weights="last"`` takes the latest checkpoint instead of the
    best; ``device`` says where the model runs (auto: a CUDA GPU when there is one). A run
    trained on any device loads on any other: its weights are float32 CPU tensors on disk."""
    if weights not in ("model", "last"):
        raise CharloomError(f"weights must be 'model' or 'last', got {weights!r}")
    return Run(path, weights, device)
