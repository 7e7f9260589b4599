"""Logits processors: each one small change to the next-token distribution.

As Hugging Face's ``LogitsProcessorList``, decoding applies a list of them in order to the
logits of every step, logits[b, V] -> logits[b, V], and then draws (or, at temperature 0,
takes the argmax). The decoding loop never grows when a control is added: a processor is
a dataclass whose ``option()`` fields are its controls, registered with
``@register_processor``; ``Run.sample``, the command line, the server and their help all
read the controls from the registry, and ``Decoding`` builds the list of those turned on.

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

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from charloom.data.vocab import BOUNDARY_ID
from charloom.options import check_options, option, option_fields

CPU = torch.device("cpu")


class LogitsProcessor:
    """logits[b, V] -> logits[b, V] at step t; stateless unless it overrides the rest."""

    off: tuple = ()  # values of a registered processor's controls that turn it off

    def __post_init__(self):
        check_options(self)  # a registered processor is a dataclass of its controls

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


# -- the registry: each control is a field of the processor it turns on ------------------------
PROCESSORS: list[type[LogitsProcessor]] = []


def register_processor(cls: type[LogitsProcessor]) -> type[LogitsProcessor]:
    """Add a processor (a dataclass) after those registered before it. Its fields made with
    ``option()`` are its controls: ``Run.sample``'s keyword arguments, the command line's
    flags, the server's request fields and their help, all read from here. It is applied
    when any control is off its default and out of ``off`` (the values that leave the
    logits alone); a field named ``lines`` is told whether items are lines."""
    taken = {name for other in PROCESSORS if other is not cls for name in control_names(other)}
    clash = sorted(taken & set(control_names(cls)))
    if clash or not control_names(cls):
        reason = f"its control {clash[0]!r} is another's" if clash else "it declares no option() field"
        raise TypeError(f"register_processor({cls.__name__}): {reason}")
    if cls not in PROCESSORS:
        PROCESSORS.append(cls)
    return cls


def control_names(cls: type) -> list[str]:
    return [f.name for f in option_fields(cls)]


def controls() -> dict[str, dataclasses.Field]:
    """Every registered control by name, in registration order."""
    return {f.name: f for cls in PROCESSORS for f in option_fields(cls)}


def build_processors(values: dict[str, Any], lines: bool, mask: Any = None) -> LogitsProcessorList:
    """The constraint mask first (so that the others see only what may be drawn), then
    every registered processor that ``values`` (control name -> value) turns on, in
    registration order. Building one checks its controls' bounds."""
    processors: list[LogitsProcessor] = [ConstraintMask(mask)] if mask is not None else []
    for cls in PROCESSORS:
        fields = option_fields(cls)
        given = {f.name: values[f.name] for f in fields if f.name in values}
        if any(f.name == "lines" for f in dataclasses.fields(cls)):
            given["lines"] = lines
        processor = cls(**given)
        if any(getattr(processor, f.name) not in (f.default, *cls.off) for f in fields):
            processors.append(processor)
    return LogitsProcessorList(processors)


# -- the controls: each registered processor declares its own options -------------------------
@register_processor
@dataclass
class RepetitionPenalty(LogitsProcessor):
    """CTRL's penalty (Keskar et al., 2019): make characters already in the row less likely
    (penalty > 1) or more likely (< 1). In running text the first prefix character counts
    as seen; in line mode the start boundary does not."""

    repetition_penalty: float = option(
        1.0, help="> 1 makes characters already in the item less likely", above=0, group="decoding"
    )
    lines: bool = True

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        self.seen = torch.zeros(batch_size, vocab_size, dtype=torch.bool, device=device)
        if not self.lines:
            self.seen[:, first_token] = True

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        r = self.repetition_penalty
        return torch.where(self.seen, torch.where(logits > 0, logits / r, logits * r), logits)

    def advance(self, tokens: torch.Tensor) -> None:
        self.seen[torch.arange(len(tokens), device=tokens.device), tokens] = True

    def select(self, index: torch.Tensor) -> None:
        self.seen = self.seen[index]


@register_processor
@dataclass
class NoRepeatNGram(LogitsProcessor):
    """No n-gram of ``no_repeat_ngram_size`` (n) tokens twice in a row's text, as Hugging
    Face's option of that name: a token is banned when the last n - 1 tokens, followed by
    it, already occur. In running text the first prefix character is part of the text; in
    line mode the start boundary is not, and the end boundary is never banned (ending an
    item writes no n-gram of its text)."""

    no_repeat_ngram_size: int | None = option(
        None,
        help="no run of K characters twice in an item (0: off)",
        metavar="K",
        minimum=0,
        group="decoding",
    )
    lines: bool = True
    off = (0,)

    def reset(self, batch_size: int, first_token: int, vocab_size: int, device: torch.device = CPU) -> None:
        self.vocab_size = vocab_size
        width = 0 if self.lines else 1
        self.history = torch.full((batch_size, width), first_token, dtype=torch.long, device=device)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        banned = repeated_ngram_ends(self.history, self.no_repeat_ngram_size, self.vocab_size)
        if self.lines:
            banned[:, BOUNDARY_ID] = False
        return logits.masked_fill(banned, float("-inf"))

    def advance(self, tokens: torch.Tensor) -> None:
        self.history = torch.cat([self.history, tokens[:, None]], dim=1)

    def select(self, index: torch.Tensor) -> None:
        self.history = self.history[index]


@register_processor
@dataclass
class Temperature(LogitsProcessor):
    """l -> l / T. At 0 the loop takes the argmax instead of drawing."""

    temperature: float = option(1.0, help="softmax temperature (0 = greedy)", minimum=0, group="decoding")
    off = (0.0,)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        return logits / self.temperature


@register_processor
@dataclass
class TopK(LogitsProcessor):
    """Keep the k largest logits of each row (ties with the k-th are kept)."""

    top_k: int | None = option(
        None, help="sample from the k most likely characters only", minimum=1, group="decoding"
    )

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        if self.top_k >= logits.shape[-1]:
            return logits
        kth = torch.topk(logits, self.top_k, dim=-1).values[:, -1:]
        return logits.masked_fill(logits < kth, float("-inf"))


@register_processor
@dataclass
class TopP(LogitsProcessor):
    """Nucleus sampling (Holtzman et al., 2020): keep the most likely tokens until their
    probability reaches p; a token stays when the mass of the ones before it is < p."""

    top_p: float | None = option(
        None,
        help="sample from the most likely characters holding this much probability (nucleus sampling)",
        above=0,
        maximum=1,
        group="decoding",
    )
    off = (1.0,)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        ordered, order = torch.sort(logits, dim=-1, descending=True)
        probs = F.softmax(ordered, dim=-1)
        before = probs.cumsum(dim=-1) - probs  # mass of the more likely tokens
        return _drop(logits, order, before >= self.top_p)


@register_processor
@dataclass
class MinP(LogitsProcessor):
    """Min-p sampling (Nguyen et al., 2024): keep v when p(v) >= min_p * max p, i.e.
    l(v) >= max l + log(min_p); the most likely token always stays."""

    min_p: float | None = option(
        None,
        help="sample from the characters at least P times as likely as the most likely one (0: off)",
        metavar="P",
        minimum=0,
        maximum=1,
        group="decoding",
    )
    off = (0.0,)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        floor = logits.amax(dim=-1, keepdim=True) + math.log(self.min_p)
        return logits.masked_fill(logits < floor, float("-inf"))


@register_processor
@dataclass
class TypicalP(LogitsProcessor):
    """Locally typical sampling (Meister et al., 2023): rank tokens by how far their
    surprisal -log p(v) is from the entropy H = -sum p log p, and keep them in that order
    until their probability reaches ``typical_p`` (as top-p keeps them by probability)."""

    typical_p: float | None = option(
        None,
        help="sample from the characters whose surprisal is nearest the entropy, holding this much "
        "probability (locally typical sampling; 1: off)",
        metavar="P",
        above=0,
        maximum=1,
        group="decoding",
    )
    off = (1.0,)

    def __call__(self, t: int, logits: torch.Tensor) -> torch.Tensor:
        log_probs = F.log_softmax(logits, dim=-1)
        probs = log_probs.exp()
        entropy = -(probs * log_probs).nan_to_num().sum(dim=-1, keepdim=True)  # 0 * -inf counts 0
        distance = (-log_probs - entropy).abs()  # inf for masked tokens: ranked last
        order = torch.argsort(distance, dim=-1, stable=True)
        ranked = probs.gather(-1, order)
        before = ranked.cumsum(dim=-1) - ranked
        return _drop(logits, order, before >= self.typical_p)


def _drop(logits: torch.Tensor, order: torch.Tensor, dropped_in_order: torch.Tensor) -> torch.Tensor:
    """-inf where ``dropped_in_order`` (a mask over the tokens as ``order`` ranks them) is set."""
    drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, dropped_in_order)
    return logits.masked_fill(drop, float("-inf"))
