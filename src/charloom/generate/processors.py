"""Logits processors: each one small change to the next-token distribution.

As Hugging Face's ``LogitsProcessorList``, decoding applies a list of them in order to the
logits of every step, logits[b, V] -> logits[b, V], and then draws (or, at temperature 0,
takes the argmax). The decoding loop never grows when a control is added: a new
processor registers a factory under the option that turns it on (``register_processor``)
and ``Decoding`` builds the list.

    ConstraintMask       tokens the constraints forbid -> -inf (constraints.TokenMask)
    RepetitionPenalty    l -> l / r if l > 0 else l * r, for characters already in the row
    Temperature          l -> l / T
    TopK                 keep the k largest logits
    TopP                 keep the smallest set of tokens whose probability reaches p

A processor that keeps something per row (the automaton's state, the characters seen)
starts it in ``reset``, moves it on with each drawn token in ``advance``, and follows the
rows that stay (finished rows leaving, beams reordered) in ``select``. The base class
does nothing in all three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F


class LogitsProcessor:
    """logits[b, V] -> logits[b, V] at step t; stateless unless it overrides the rest."""

    def reset(self, batch_size: int, first_token: int, vocab_size: int) -> None:
        """A new batch of rows, all about to read ``first_token``."""

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

    def reset(self, batch_size: int, first_token: int, vocab_size: int) -> None:
        for processor in self:
            processor.reset(batch_size, first_token, vocab_size)

    def advance(self, tokens: torch.Tensor) -> None:
        for processor in self:
            processor.advance(tokens)

    def select(self, index: torch.Tensor) -> None:
        for processor in self:
            processor.select(index)


class ConstraintMask(LogitsProcessor):
    """The constraints' automaton (``constraints.TokenMask``): a token is allowed when the
    constraints can still be met from the state it leads to in the length left."""

    def __init__(self, mask: Any):
        self.mask = mask
        self.states = torch.zeros(0, dtype=torch.long)

    def reset(self, batch_size: int, first_token: int, vocab_size: int) -> None:
        self.states = torch.zeros(batch_size, dtype=torch.long)

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
        self.seen = torch.zeros(0, 0, dtype=torch.bool)

    def reset(self, batch_size: int, first_token: int, vocab_size: int) -> None:
        self.seen = torch.zeros(batch_size, vocab_size, dtype=torch.bool)
        if not self.lines:
            self.seen[:, first_token] = True

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return apply_repetition_penalty(logits, self.seen, self.penalty)

    def advance(self, tokens: torch.Tensor) -> None:
        self.seen[torch.arange(len(tokens)), tokens] = True

    def select(self, index: torch.Tensor) -> None:
        self.seen = self.seen[index]


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


@register_processor("temperature")
def _temperature(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return Temperature(decoding.temperature) if decoding.temperature not in (0.0, 1.0) else None


@register_processor("top_k")
def _top_k(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return TopK(decoding.top_k) if decoding.top_k is not None else None


@register_processor("top_p")
def _top_p(decoding: Any, lines: bool) -> LogitsProcessor | None:
    return TopP(decoding.top_p) if decoding.top_p not in (None, 1.0) else None


def build_processors(decoding: Any, lines: bool, mask: Any = None) -> LogitsProcessorList:
    """The constraint mask first (so that the others see only what may be drawn), then
    every registered processor that ``decoding`` turns on, in registration order."""
    processors: Iterable[LogitsProcessor | None] = [
        ConstraintMask(mask) if mask is not None else None,
        *(factory(decoding, lines) for _, factory in PROCESSORS),
    ]
    return LogitsProcessorList(p for p in processors if p is not None)
