"""Scores of items: the likelihood a model gives them, and scorers that rank candidates.

Likelihood (``charloom score``): in line mode an item is read as training reads it,
``[boundary, c1, ..., cn]`` predicting ``[c1, ..., cn, boundary]``, so the end counts, as
in ``charloom eval``. In text mode the first character is context and the rest are
predicted. The surprisal of a token is -log p(token | what came before), in nats
(divide by ln 2 for bits).

Scorers map items to numbers, higher = better, so that search can rank candidates:

    loglik           log p(x), nats                            (likely items)
    loglik_per_char  log p(x) / tokens                         (likely, whatever the length)
    novelty          edit distance to the nearest training item (new items)
    ratio:RUN_B      log p_A(x) - log p_B(x)                    (more like run A than run B)

A spec combines them with weights: ``"loglik_per_char:1,novelty:0.5"`` is
1 * loglik_per_char + 0.5 * novelty. Other features add their own with
``@register_scorer``.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.generate.novelty import NoveltyIndex
from charloom.models.base import CharModel
from charloom.models.likelihood import token_logprobs
from charloom.models.saved import load_model
from charloom.rundir import RunDir

LN2 = math.log(2)


# -- likelihood of items -----------------------------------------------------------------
@dataclass
class ItemScore:
    """One item under one model: the surprisal of every predicted token, in nats."""

    text: str
    tokens: list[str]  # the predicted symbols; '.' is the end boundary
    surprisal: list[float]  # -log p of each, nats

    @property
    def nll(self) -> float:
        """Total negative log-likelihood, nats."""
        return float(sum(self.surprisal))

    @property
    def logprob(self) -> float:
        return -self.nll

    @property
    def num_tokens(self) -> int:
        return len(self.surprisal)

    @property
    def nll_per_char(self) -> float:
        return self.nll / max(self.num_tokens, 1)

    def to_json(self, unit: str = "nats") -> dict:
        scale = 1 / LN2 if unit == "bits" else 1.0
        return {
            "item": self.text,
            "unit": unit,
            "nll": self.nll * scale,
            "nll_per_char": self.nll_per_char * scale,
            "tokens": self.num_tokens,
            "surprisal": [
                [token, value * scale] for token, value in zip(self.tokens, self.surprisal, strict=True)
            ],
        }


def encode_for_scoring(vocab: Vocab, text: str, where: str = "item") -> list[int]:
    ids = vocab.encode(text, where=where)
    return [BOUNDARY_ID, *ids, BOUNDARY_ID] if vocab.boundary else ids


class ItemScores(list):
    """What ``Run.score`` returns: a list of ``ItemScore``, with their mean over every
    predicted token (as ``charloom eval`` weights it)."""

    @property
    def num_tokens(self) -> int:
        return sum(s.num_tokens for s in self)

    @property
    def nll_per_char(self) -> float:
        return sum(s.nll for s in self) / max(self.num_tokens, 1)

    def to_json(self, unit: str = "nats") -> dict:
        scale = 1 / LN2 if unit == "bits" else 1.0
        return {
            "unit": unit,
            "items": [s.to_json(unit) for s in self],
            "nll_per_char": self.nll_per_char * scale,
            "tokens": self.num_tokens,
        }


def score_items(model: CharModel, vocab: Vocab, items: Sequence[str], where: str = "item") -> ItemScores:
    """The surprisal of every character of every item (and of its end, in line mode)."""
    sequences = [encode_for_scoring(vocab, item, where) for item in items]
    scores = ItemScores()
    for item, seq, logp in zip(items, sequences, token_logprobs(model, sequences), strict=True):
        symbols = [vocab.symbol(t) for t in seq[1:]]
        scores.append(ItemScore(item, symbols, (-logp.double()).tolist()))
    return scores


def total_logprobs(model: CharModel, vocab: Vocab, items: Sequence[str]) -> list[float]:
    """log p(item) for each item, nats; -inf for an item with a character the model never saw."""
    known = [i for i, item in enumerate(items) if not vocab.unknown_chars(item)]
    result = [float("-inf")] * len(items)
    sequences = [encode_for_scoring(vocab, items[i]) for i in known]
    for i, logp in zip(known, token_logprobs(model, sequences), strict=True):
        result[i] = float(logp.double().sum())
    return result


# -- scorers -------------------------------------------------------------------------------
class Scorer(ABC):
    """Maps items to numbers, higher = better. Implement ``__call__`` over a batch."""

    name: str = "scorer"

    @abstractmethod
    def __call__(self, texts: Sequence[str]) -> list[float]:
        """One number per text."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class LogLikelihood(Scorer):
    """log p(x) under a model, in total or per predicted token."""

    def __init__(self, model: CharModel, vocab: Vocab, per_char: bool = False):
        self.model, self.vocab, self.per_char = model, vocab, per_char
        self.name = "loglik_per_char" if per_char else "loglik"

    def __call__(self, texts: Sequence[str]) -> list[float]:
        totals = total_logprobs(self.model, self.vocab, texts)
        if not self.per_char:
            return totals
        extra = 1 if self.vocab.boundary else -1  # the end boundary, or the unpredicted first char
        return [total / max(len(text) + extra, 1) for total, text in zip(totals, texts, strict=True)]


class Novelty(Scorer):
    """Edit distance to the nearest training item: 0 for a remembered item."""

    name = "novelty"

    def __init__(self, index: NoveltyIndex):
        self.index = index

    def __call__(self, texts: Sequence[str]) -> list[float]:
        return [float(d) for d in self.index.distances(texts)]


class LogRatio(Scorer):
    """log p_A(x) - log p_B(x): how much more likely under A than under B, in nats (e.g. how
    much more 'Irish' than 'Italian' a name is, with one run per category). An item with a
    character B never saw scores +inf."""

    def __init__(self, a: tuple[CharModel, Vocab], b: tuple[CharModel, Vocab], name: str = "ratio"):
        self.a, self.b, self.name = a, b, name

    def __call__(self, texts: Sequence[str]) -> list[float]:
        pa = total_logprobs(*self.a, texts)
        pb = total_logprobs(*self.b, texts)
        return [x - y if y != float("-inf") else math.inf for x, y in zip(pa, pb, strict=True)]


class Weighted(Scorer):
    """Sum of weighted scorers: sum_i w_i * s_i(x)."""

    def __init__(self, terms: Sequence[tuple[Scorer, float]]):
        self.terms = list(terms)
        self.name = ",".join(f"{s.name}:{w:g}" for s, w in self.terms)

    def __call__(self, texts: Sequence[str]) -> list[float]:
        totals = [0.0] * len(texts)
        for scorer, weight in self.terms:
            if weight == 0:
                continue  # 0 * inf would be nan
            for i, value in enumerate(scorer(texts)):
                totals[i] += weight * value
        return totals


class FunctionScorer(Scorer):
    """Any ``texts -> numbers`` function as a scorer (for the Python API)."""

    def __init__(self, function: Callable[[Sequence[str]], Sequence[float]], name: str | None = None):
        self.function = function
        self.name = name or getattr(function, "__name__", "function")

    def __call__(self, texts: Sequence[str]) -> list[float]:
        return [float(v) for v in self.function(texts)]


# -- the registry: name -> factory(run, argument) ---------------------------------------------
ScorerFactory = Callable[[Any, "str | None"], Scorer]


@dataclass
class ScorerKind:
    factory: ScorerFactory
    argument: str | None  # what the argument is called, or None if it takes none
    help: str


SCORERS: dict[str, ScorerKind] = {}


def register_scorer(name: str, help: str, argument: str | None = None):
    """Make ``factory(run, argument) -> Scorer`` available as ``--score NAME[:ARG][:WEIGHT]``."""

    def register(factory: ScorerFactory) -> ScorerFactory:
        SCORERS[name] = ScorerKind(factory, argument, help)
        return factory

    return register


@register_scorer("loglik", "log-likelihood of the item, nats (higher: more likely)")
def _loglik(run: Any, argument: str | None) -> Scorer:
    return LogLikelihood(run.model, run.vocab)


@register_scorer("loglik_per_char", "log-likelihood per predicted character, nats")
def _loglik_per_char(run: Any, argument: str | None) -> Scorer:
    return LogLikelihood(run.model, run.vocab, per_char=True)


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def novelty_index(run: Any) -> NoveltyIndex:
    """The run's training items as a novelty index, built once per ``Run`` object."""
    index = _INDEXES.get(run)
    if index is None:
        if run.format != "lines":
            raise CharloomError("novelty compares items with the training items; this run is running text")
        index = _INDEXES[run] = NoveltyIndex(run.train_set)
    return index


@register_scorer("novelty", "edit distance to the nearest training item (higher: newer)")
def _novelty(run: Any, argument: str | None) -> Scorer:
    return Novelty(novelty_index(run))


@register_scorer(
    "ratio", "log p(x) under this run minus under RUN_B, nats (higher: more like this run)", argument="RUN_B"
)
def _ratio(run: Any, argument: str | None) -> Scorer:
    other = RunDir(argument)
    other_format = other.read_info()["data"]["format"]
    if other_format != run.format:
        raise CharloomError(
            f"ratio needs two runs of the same kind; {argument} is {other_format}, this run is {run.format}"
        )
    model, vocab, _ = load_model(other.read_info(), other.weights_path("model"))
    return LogRatio((run.model, run.vocab), (model, vocab), name=f"ratio:{argument}")


def parse_score_spec(spec: str) -> list[tuple[str, str | None, float]]:
    """``"loglik:1,novelty:0.5,ratio:runs/b:2"`` -> [(name, argument, weight), ...]."""
    terms = []
    for term in spec.split(","):
        term = term.strip()
        if not term:
            continue
        name, _, rest = term.partition(":")
        name = name.strip().replace("-", "_")
        if name not in SCORERS:
            raise CharloomError(f"unknown scorer {name!r} in --score; choose from {', '.join(SCORERS)}")
        kind = SCORERS[name]
        argument, weight_text = None, rest
        if kind.argument is not None:
            argument, sep, weight_text = rest.rpartition(":")
            if not sep or not _is_number(weight_text):
                argument, weight_text = rest, ""
            if not argument:
                raise CharloomError(
                    f"the scorer {name!r} needs {kind.argument}: --score {name}:{kind.argument}"
                )
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            raise CharloomError(
                f"the weight of {name!r} in --score must be a number, got {weight_text!r}"
            ) from None
        terms.append((name, argument, weight))
    if not terms:
        raise CharloomError("--score is empty; name a scorer, e.g. --score loglik")
    return terms


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def make_scorer(spec: str | Scorer | Callable | None, run: Any, default: str = "loglik_per_char") -> Scorer:
    """A scorer from a spec string, a ``Scorer``, or a function of texts; None: ``default``."""
    if isinstance(spec, Scorer):
        return spec
    if callable(spec):
        return FunctionScorer(spec)
    terms = [
        (SCORERS[name].factory(run, argument), weight)
        for name, argument, weight in parse_score_spec(spec or default)
    ]
    if len(terms) == 1 and terms[0][1] == 1.0:
        return terms[0][0]
    return Weighted(terms)


__all__ = [
    "ItemScore",
    "ItemScores",
    "Scorer",
    "LogLikelihood",
    "Novelty",
    "LogRatio",
    "Weighted",
    "FunctionScorer",
    "SCORERS",
    "register_scorer",
    "make_scorer",
    "parse_score_spec",
    "score_items",
    "total_logprobs",
    "token_logprobs",
]
