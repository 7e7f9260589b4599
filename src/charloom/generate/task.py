"""A ``Task``: what every search needs, bound together once per request (the model, its
vocabulary, compiled constraints, decoding parameters, a random generator), with the
check every returned item must pass."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import torch

from charloom.data.vocab import Vocab
from charloom.generate.constraints import Compiled
from charloom.generate.samples import Sample
from charloom.generate.sampling import Decoded, Decoding, Forced, Step, decode_steps, drain, to_samples
from charloom.models.base import CharModel


@dataclass
class Task:
    """What every search needs: the model, what to generate, how to choose tokens."""

    model: CharModel
    vocab: Vocab
    compiled: Compiled
    decoding: Decoding
    generator: torch.Generator

    @property
    def lines(self) -> bool:
        return self.vocab.boundary

    @property
    def forced_ids(self) -> list[int]:
        """Tokens every row emits first: the prefix (text mode: after its first character)."""
        ids = self.compiled.forced_ids
        return ids if self.lines else ids[1:]

    @property
    def steps(self) -> int:
        return len(self.forced_ids) + self.decoding.max_new_tokens

    @property
    def filters(self) -> bool:
        """Whether a finished item can still be rejected (so draws may be wasted)."""
        return self.compiled.filters or bool(self.decoding.control("no_repeat_ngram_size"))

    @property
    def constrained(self) -> bool:
        """Whether items are checked (then unfinished items fail too)."""
        return self.compiled.mask is not None or self.filters

    def decode(
        self,
        batch_size: int,
        forced: Forced | None = None,
        decoding: Decoding | None = None,
        relaxed: bool = False,
    ) -> Decoded:
        """Decode a batch under the constraint masks (``relaxed``: without the patterns)."""
        return drain(self.decode_steps(batch_size, forced, decoding, relaxed))

    def decode_steps(
        self,
        batch_size: int,
        forced: Forced | None = None,
        decoding: Decoding | None = None,
        relaxed: bool = False,
    ) -> Generator[Step, None, Decoded]:
        """``decode``, yielding what each step emitted (``sampling.decode_steps``)."""
        forced = forced or Forced.prefix(self.forced_ids, batch_size)
        start = None if self.lines else self.compiled.forced_ids[0]
        mask = self.compiled.relaxed if relaxed else self.compiled.mask
        decoded = yield from decode_steps(
            self.model,
            batch_size,
            steps=self.steps,
            lines=self.lines,
            start_token=start,
            forced=forced,
            decoding=decoding or self.decoding,
            mask=mask,
            generator=self.generator,
        )
        decoded.start = "" if self.lines else self.compiled.forced[0]
        return decoded

    def samples(self, decoded: Decoded) -> list[Sample]:
        return to_samples(decoded, self.vocab)

    def acceptable(self, sample: Sample, taken: set[str]) -> bool:
        """Passes every constraint, ``unique`` against ``taken`` included."""
        if not self.constrained:
            return True
        return (
            sample.finished
            and self.compiled.accepts(sample.text)
            and not (self.compiled.constraints.unique and sample.text in taken)
            and not repeats_ngram(
                sample.text, self.decoding.control("no_repeat_ngram_size"), len(self.compiled.forced)
            )
        )


def repeats_ngram(text: str, size: int | None, given: int = 0) -> bool:
    """Whether an n-gram of ``size`` characters ending after the first ``given`` (the
    forced prefix, which may repeat itself) occurs earlier in ``text``."""
    if not size:
        return False
    seen = {text[i : i + size] for i in range(max(0, given - size + 1))}
    for i in range(max(0, given - size + 1), len(text) - size + 1):
        gram = text[i : i + size]
        if gram in seen:
            return True
        seen.add(gram)
    return False
