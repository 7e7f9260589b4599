"""Logits processors: each one small change to the next-token distribution.

As Hugging Face's ``LogitsProcessorList``, decoding applies a list of them in order to the
logits of every step, logits[b, V] -> logits[b, V], and then draws (or, at temperature 0,
takes the argmax). The decoding loop never grows when a control is added: a new
processor registers a factory under the option that turns it on (``register_processor``)
and ``Decoding`` builds the list.

    ConstraintMask       tokens the constraints forbid -> -inf (automata.TokenMask)
    RepetitionPenalty    l -> l / r if l > 0 else l * r, for characters already in the row
    NoRepeatNGram        -inf for a token that would write an n-gram the row already holds
    Temperature          l -> l / T
    TopK                 keep the k largest logits
    TopP                 keep the smallest set of tokens whose probability reaches p
    MinP                 keep the tokens at least p times as likely as the most likely one
    TypicalP             keep the tokens whose surprisal is nearest the entropy, up to mass p

The truncations (top-k, top-p, min-p, typical-p) always keep at least one token of those
still allowed; only the constraint mask and the no-repeat rule can leave a row none.

A processor that keeps something per row (the automaton's state, the characters seen)
starts it in ``reset``, moves it on with each drawn token in ``advance``, and follows the
rows that stay (finished rows leaving, beams reordered) in ``select``. The base class
does nothing in all three.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F

from charloom.data.vocab import BOUNDARY_ID

CPU = torch.device("cpu")


class LogitsProcessor:
    """logits[b, V] -> logits[b, V] at step t; stateless unless it overrides the rest."""

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        """A new batch of rows, all about to read ``first_token``; what the processor keeps
        per row goes on ``device``, the model's."""

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def advance(self, tokens: torch.Tensor) -> None:
        """Each row emitted ``tokens[b]``."""

    def select(self, index: torch.Tensor) -> None:
        """Only the rows named by ``index`` go on (in that order)."""


class LogitsProcessorList(list):
    """Processors applied in order; each bookkeeping call goes to all of them."""

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        for processor in self:
            logits = processor(t, logits)
        return logits

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        for processor in self:
            processor.reset(batch_size, first_token, vocab_size, device)

    def advance(self, tokens: torch.Tensor) -> None:
        for processor in self:
            processor.advance(tokens)

    def select(self, index: torch.Tensor) -> None:
        for processor in self:
            processor.select(index)


class ConstraintMask(LogitsProcessor):
    """The constraints' automaton (``automata.TokenMask``): a token is allowed when the
    constraints can still be met from the state it leads to in the length left."""

    def __init__(self, mask: Any):
        self.mask = mask
        self.states: torch.Tensor | None = None  # made in reset, where the device is known

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        self.mask = self.mask.to(device)
        self.states = torch.full((batch_size,), self.mask.initial, dtype=torch.long, device=device)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return logits.masked_fill(~self.mask.allowed(t, self.states), float("-inf"))

    def advance(self, tokens: torch.Tensor) -> None:
        self.states = self.mask.advance(self.states, tokens)

    def select(self, index: torch.Tensor) -> None:
        self.states = self.states[index]


class RepetitionPenalty(LogitsProcessor):
    """CTRL's penalty (Keskar et al., 2019): make characters already in the row less likely
    (penalty > 1) or more likely (< 1). In running text the first prefix character counts
    as seen; in line mode the start boundary does not."""

    def __init__(self, penalty: float, lines: bool = True):
        self.penalty, self.lines = penalty, lines
        self.seen: torch.Tensor | None = None

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        self.seen = torch.zeros(batch_size, vocab_size, dtype=torch.bool, device=device)
        if not self.lines:
            self.seen[:, first_token] = True

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_repetition_penalty(logits, self.seen, self.penalty)

    def advance(self, tokens: torch.Tensor) -> None:
        self.seen[torch.arange(len(tokens), device=tokens.device), tokens] = True

    def select(self, index: torch.Tensor) -> None:
        self.seen = self.seen[index]


class NoRepeatNGram(LogitsProcessor):
    """No n-gram of ``size`` tokens twice in a row's text (Hugging Face's
    ``no_repeat_ngram_size``): a token is banned when the last size - 1 tokens, followed by
    it, already occur. In running text the first prefix character is part of the text; in
    line mode the start boundary is not, and the end boundary is never banned (ending an
    item writes no n-gram of its text)."""

    def __init__(self, size: int, lines: bool = True):
        self.size, self.lines = size, lines
        self.history: torch.Tensor | None = None
        self.vocab_size = 0

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        self.vocab_size = vocab_size
        width = 0 if self.lines else 1
        self.history = torch.full((batch_size, width), first_token, dtype=torch.long, device=device)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        banned = repeated_ngram_ends(self.history, self.size, self.vocab_size)
        if self.lines:
            banned[:, BOUNDARY_ID] = False
        return logits.masked_fill(banned, float("-inf"))

    def advance(self, tokens: torch.Tensor) -> None:
        self.history = torch.cat([self.history, tokens[:, None]], dim=1)

    def select(self, index: torch.Tensor) -> None:
        self.history = self.history[index]


class Temperature(LogitsProcessor):
    def __init__(self, temperature: float):
        self.temperature = temperature

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return logits / self.temperature


class TopK(LogitsProcessor):
    def __init__(self, top_k: int):
        self.top_k = top_k

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_top_k(logits, self.top_k)


class TopP(LogitsProcessor):
    def __init__(self, top_p: float):
        self.top_p = top_p

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_top_p(logits, self.top_p)


class MinP(LogitsProcessor):
    def __init__(self, min_p: float):
        self.min_p = min_p

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_min_p(logits, self.min_p)


class TypicalP(LogitsProcessor):
    def __init__(self, typical_p: float):
        self.typical_p = typical_p

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_typical_p(logits, self.typical_p)


def repeated_ngram_ends(history: torch.Tensor, size: int, vocab_size: int) -> torch.Tensor:
    """``banned[b, v]``: the tokens that, written next, would repeat an n-gram of ``size``
    already in ``history[b]``. An n-gram history[i : i + size] is repeated by v when its first
    size - 1 tokens are the last size - 1 of the history and v is its last token."""
    B, L = history.shape
    banned = torch.zeros(B, vocab_size, dtype=torch.bool, device=history.device)
    if L < size:
        return banned
    grams = history.unfold(1, size, 1)  # (B, L - size + 1, size)
    tail = history[:, L - size + 1 :]  # (B, size - 1)
    repeats = (grams[:, :, :-1] == tail[:, None, :]).all(dim=2)  # (B, L - size + 1)
    hits = torch.zeros(B, vocab_size, dtype=torch.long, device=history.device)
    hits.scatter_add_(1, grams[:, :, -1], repeats.long())
    return hits > 0


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """``seen[B, V]`` marks the characters already in each row."""
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def apply_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Keep the k largest logits of each row (ties with the k-th are kept)."""
    if top_k is None or top_k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def apply_top_p(logits: torch.Tensor, top_p: float | None) -> torch.Tensor:
    """Nucleus sampling (Holtzman et al., 2020): keep the most likely tokens until their
    probability reaches p; a token stays when the mass of the ones before it is < p."""
    if top_p is None or top_p >= 1.0:
        return logits
    ordered, order = torch.sort(logits, dim=-1, descending=True)
    probs = F.softmax(ordered, dim=-1)
    before = probs.cumsum(dim=-1) - probs  # mass of the more likely tokens
    drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, before >= top_p)
    return logits.masked_fill(drop, float("-inf"))


def apply_min_p(logits: torch.Tensor, min_p: float | None) -> torch.Tensor:
    """Min-p sampling (Nguyen et al., 2024): keep v when p(v) >= min_p * max p, i.e.
    l(v) >= max l + log(min_p); the most likely token always stays."""
    if not min_p:
        return logits
    floor = logits.amax(dim=-1, keepdim=True) + math.log(min_p)
    return logits.masked_fill(logits < floor, float("-inf"))


def apply_typical_p(logits: torch.Tensor, typical_p: float | None) -> torch.Tensor:
    """Locally typical sampling (Meister et al., 2023): rank tokens by how far their
    surprisal -log p(v) is from the entropy H = -sum p log p, and keep them in that order
    until their probability reaches ``typical_p`` (as top-p keeps them by probability)."""
    if typical_p is None or typical_p >= 1.0:
        return logits
    log_probs = F.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    entropy = -(probs * log_probs).nan_to_num().sum(dim=-1, keepdim=True)  # 0 * -inf counts 0
    distance = (-log_probs - entropy).abs()  # inf for masked tokens: ranked last
    order = torch.argsort(distance, dim=-1, stable=True)
    ranked = probs.gather(-1, order)
    before = ranked.cumsum(dim=-1) - ranked
    drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, before >= typical_p)
    return logits.masked_fill(drop, float("-inf"))


# -- the registry: option -> factory(decoding, lines) -> processor or None --------------------
ProcessorFactory = Callable[[Any, bool], "LogitsProcessor | None"]
PROCESSORS: list[tuple[str, ProcessorFactory]] = []


def register_processor(option: str) -> Callable[[ProcessorFactory], ProcessorFactory]:
    """Add a processor, made by ``factory(decoding, lines)`` (None: the option is off), after
    those registered before it; ``option`` names the ``Decoding`` field that controls it."""

    def register(factory: ProcessorFactory) -> ProcessorFactory:
        PROCESSORS.append((option, factory))
        return factory

    return register


@register_processor("repetition_penalty")
def _repetition_penalty(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return (
        RepetitionPenalty(decoding.repetition_penalty, lines) if decoding.repetition_penalty != 1.0 else None
    )


@register_processor("no_repeat_ngram_size")
def _no_repeat_ngram(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return NoRepeatNGram(decoding.no_repeat_ngram_size, lines) if decoding.no_repeat_ngram_size else None


@register_processor("temperature")
def _temperature(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return Temperature(decoding.temperature) if decoding.temperature not in (0.0, 1.0) else None


@register_processor("top_k")
def _top_k(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return TopK(decoding.top_k) if decoding.top_k is not None else None


@register_processor("top_p")
def _top_p(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return TopP(decoding.top_p) if decoding.top_p not in (None, 1.0) else None


@register_processor("min_p")
def _min_p(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return MinP(decoding.min_p) if decoding.min_p else None


@register_processor("typical_p")
def _typical_p(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return TypicalP(decoding.typical_p) if decoding.typical_p not in (None, 1.0) else None


def build_processors(decoding: Any, lines: bool, mask: Any = None) -> LogitsProcessorList:
    """The constraint mask first (so that the others see only what may be drawn), then
    every registered processor that ``decoding`` turns on, in registration order."""
    processors: Iterable[LogitsProcessor | None] = [
        ConstraintMask(mask) if mask is not None else None,
        *(factory(decoding, lines) for _, factory in PROCESSORS),
    ]
    return LogitsProcessorList(p for p in processors if p is not None)
