"""What generation returns: each item with its likelihood and novelty, and the search's
account.

Novelty is marked as makemore marks it, against the run's own data: ``train`` (an item of
the training split: remembered), ``held-out`` (of the val or test split: a real item the
model never trained on) or ``new`` (in no split of the data: made up)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TRAIN, HELD_OUT, NEW = "train", "held-out", "new"
MARKS = (TRAIN, HELD_OUT, NEW)


class Novelty:
    """The mark of an item against a run's splits: the one place it is decided."""

    def __init__(self, train: Iterable[str], held_out: Iterable[str]):
        self.train, self.held_out = set(train), set(held_out)

    def mark(self, text: str) -> str:
        if text in self.train:
            return TRAIN
        return HELD_OUT if text in self.held_out else NEW


@dataclass(slots=True)
class Sample:
    """One generated item.

    ``logprob`` is the model's log-likelihood of the whole item in nats, as ``charloom
    score`` computes it: in line mode every character and the end boundary given the
    start boundary; in text mode every character after the first. ``num_tokens`` is the
    number of predictions it sums over, so ``nll_per_char`` matches ``charloom eval``. An
    unfinished item (cut at ``max_new_tokens``) has no end, so its end is not counted.
    ``score`` is set when a scorer ranked the item (beam search, ``best_of``, ``refine``,
    ``score=``); higher is better. ``seen`` is its novelty mark (None for running text).
    """

    text: str
    logprob: float
    num_tokens: int
    finished: bool
    seen: str | None = None  # "train", "held-out" or "new" (None: running text)
    score: float | None = None

    @property
    def new(self) -> bool | None:
        """In no split of the run's data (None for running text)."""
        return None if self.seen is None else self.seen == NEW

    @property
    def nll_per_char(self) -> float:
        return -self.logprob / max(self.num_tokens, 1)

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "seen": self.seen,
            "new": self.new,
            "logprob": self.logprob,
            "nll_per_char": self.nll_per_char,
            "finished": self.finished,
            "score": self.score,
        }


class Samples(list):
    """What ``Run.sample`` returns: a list of ``Sample`` plus how the search went.

    - ``requested``: how many items were asked for;
    - ``tried``: candidates drawn (complete items) until enough passed the filters;
    - ``kept``: candidates that passed every filter (best-of keeps N per item returned);
    - ``budget``: the cap on ``tried``; ``exhausted`` is true when it ran out first;
    - ``refined``: rewrites accepted by ``refine``;
    - ``masked_after``: draws before ``ends_with``/``contains`` went from rejection to masks
      (None: they never did, or there were none).

    >>> s = Samples([], requested=3, tried=40, kept=0, budget=40)
    >>> s.exhausted, s.summary()
    (True, 'returned 0 of 3 (tried 40, kept 0); the budget of 40 attempts ran out')
    """

    def __init__(
        self,
        items=(),
        *,
        requested: int = 0,
        tried: int = 0,
        kept: int = 0,
        budget: int | None = None,
        refined: int = 0,
        masked_after: int | None = None,
    ):
        super().__init__(items)
        self.requested, self.tried, self.kept = requested, tried, kept
        self.budget, self.refined, self.masked_after = budget, refined, masked_after
        self.absorbed = 0  # items of pieces counted by ``absorb`` but not held
        self.absorbed_marks: dict[str, int] = {}  # and their novelty marks
        self.pieces_budget = budget is None  # no budget for the whole: the pieces' own add up

    @property
    def returned(self) -> int:
        return len(self) + self.absorbed

    @property
    def exhausted(self) -> bool:
        return self.returned < self.requested

    def absorb(self, piece: Samples) -> None:
        """Add a piece of a search made in pieces (``Run.sample_chunks``) to this account,
        without keeping its items. An account made with a ``budget`` keeps it as the whole
        search's; one made without adds up the pieces' own budgets."""
        if self.masked_after is None and piece.masked_after is not None:
            self.masked_after = self.tried + piece.masked_after
        self.absorbed += len(piece)
        for mark, count in piece.marks().items():
            self.absorbed_marks[mark] = self.absorbed_marks.get(mark, 0) + count
        self.tried, self.kept, self.refined = (
            self.tried + piece.tried,
            self.kept + piece.kept,
            self.refined + piece.refined,
        )
        if self.pieces_budget and piece.budget is not None:
            self.budget = (self.budget or 0) + piece.budget

    def marks(self) -> dict[str, int]:
        """How many of the items held are train, held-out and new (empty for running text)."""
        counts = {mark: 0 for mark in MARKS}
        for sample in self:
            if sample.seen is not None:
                counts[sample.seen] += 1
        counts = {mark: count + self.absorbed_marks.get(mark, 0) for mark, count in counts.items()}
        return counts if any(counts.values()) else {}

    def summary(self) -> str:
        line = f"returned {self.returned} of {self.requested} (tried {self.tried}, kept {self.kept})"
        marks = self.marks()
        if marks:
            total = sum(marks.values())
            line += "; " + ", ".join(f"{100 * marks[m] / total:.0f}% {m}" for m in (NEW, HELD_OUT, TRAIN))
        if self.refined:
            line += f", {self.refined} refined"
        if self.masked_after == 0:
            line += "; patterns masked"
        elif self.masked_after is not None:
            line += f"; patterns masked after {self.masked_after} draws"
        if self.exhausted and self.budget is not None and self.tried >= self.budget:
            line += f"; the budget of {self.budget} attempts ran out"
        elif self.exhausted:
            line += "; the search ended without enough items"
        return line


__all__ = ["HELD_OUT", "MARKS", "NEW", "TRAIN", "Novelty", "Sample", "Samples"]
