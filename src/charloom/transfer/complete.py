"""Completing the start of a name with one category's generator: greedy, sampled, or best-of-N.

Best-of-N draws N samples and keeps the one the likelihood-ratio judge finds most
typical of the generator's category, p(c | x) (judge/likelihood.py). Every completion
also carries the classifier's p(c | x), which is what measures it.

The pooled generator (every category at once) has no category of its own: its best-of-N
keeps the draw it finds most likely per character, and its completions carry the
category the classifier files them under, with that category's probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from charloom.data.folding import fold_accents
from charloom.errors import CharloomError
from charloom.transfer.contrast import contrasted

FIRST_WORD = "first-word"
POOLED_COLUMN = "all"  # the pooled generator's column in a table


@dataclass
class Completion:
    """The start of a name completed by one category's generator."""

    text: str  # the start included
    start: str
    category: str  # the generator's
    judge_prob: float  # p(category | text) by the likelihood-ratio judge
    classifier_prob: float  # p(category | text) by the classifier
    classified_as: str = ""  # the classifier's most likely category

    @property
    def continuation(self) -> str:
        return self.text[len(self.start) :]

    @property
    def mark(self) -> str:
        """How a table shows it: the classifier's p(category | text); for the pooled
        column, which category and how sure."""
        if self.category == POOLED_COLUMN:
            return f"{self.classified_as} {self.classifier_prob:.2f}"
        return f"{self.classifier_prob:.2f}"


def cut_start(name: str, cut: str | float) -> str | None:
    """The start of ``name`` that a generator is given. A cut is a fraction of the name
    (rounded half up, at least one character), a number of characters (``"2c"``), or
    ``"first-word"`` (up to and with the first space; None for a name of one word).

    >>> cut_start("derek vroom", 0.5), cut_start("al", 0.1), cut_start("derek vroom", "2c")
    ('derek ', 'a', 'de')
    >>> cut_start("derek vroom", "first-word"), cut_start("anna", "first-word")
    ('derek ', None)
    """
    label = str(cut).strip()
    if label == FIRST_WORD:
        word, space, _ = name.partition(" ")
        return word + space if space else None
    if label.endswith("c") and label[:-1].isdigit():
        count = int(label[:-1])
        if count < 1:
            raise CharloomError(f"a cut of characters must be at least 1c, got {label!r}")
        return name[:count]
    try:
        fraction = float(label)
    except ValueError:
        raise CharloomError(
            f"a cut is a fraction (0.5), a number of characters (2c) or first-word; got {label[:40]!r}"
        ) from None
    if not 0 < fraction <= 1:
        raise CharloomError(f"a cut must be a fraction in (0, 1], got {fraction}")
    return name[: max(1, int(fraction * len(name) + 0.5))]


def prepare_name(text: str, keep_accents: bool) -> str:
    """A name as the group's data was prepared: lowercase, spaces squeezed, accents folded
    unless the group kept them."""
    text = " ".join(text.lower().split())
    if not text:
        raise CharloomError("a name to continue cannot be empty")
    return text if keep_accents else fold_accents(text)


def parse_cuts(text: str) -> list[str]:
    """'0.25,0.5,2c,first-word' -> ['0.25', '0.5', '2c', 'first-word'], each checked."""
    cuts = [part.strip() for part in text.split(",") if part.strip()]
    if not cuts:
        raise CharloomError("--cut needs at least one cut: a fraction (0.5), characters (2c) or first-word")
    cuts = [_label(cut) for cut in cuts]
    for cut in cuts:
        cut_start("x y", cut)  # validates it
    return list(dict.fromkeys(cuts))


def _label(cut: str) -> str:
    """A fraction written one way (0.50 -> 0.5); other cuts as given."""
    try:
        return f"{float(cut):g}"
    except ValueError:
        return cut


def complete(
    group,
    category: str,
    start: str,
    n: int = 1,
    *,
    best_of: int = 1,
    temperature: float = 1.0,
    contrast: float = 0.0,
    seed: int = 0,
) -> list[Completion]:
    """``n`` completions of ``start`` by ``category``'s generator; temperature 0 is greedy
    (one completion); ``contrast`` > 0 decodes against the pooled generator
    (``contrast.py``). A character of ``start`` the generator never saw raises
    UnknownCharacterError naming it."""
    group.check_category(category)
    if n < 1 or best_of < 1:
        raise CharloomError(f"-n and --best-of must be at least 1, got {n} and {best_of}")
    run = group.runs[category]
    run.vocab.check(start, where=f"start for the {category} generator")
    run = contrasted(run, group.pooled, contrast)
    column = group.categories.index(category)
    if temperature == 0:
        texts = [run.sample(n=1, temperature=0, prefix=start)[0].text]
    else:
        draws = [s.text for s in run.sample(n=n * best_of, temperature=temperature, prefix=start, seed=seed)]
        if best_of == 1:
            texts = draws
        else:
            typical = group.judge.posterior(draws)[:, column].view(n, best_of)  # (n, N)
            best = typical.argmax(dim=1).tolist()
            texts = [draws[i * best_of + b] for i, b in enumerate(best)]
    return judged(group, texts, start, category, column)


def complete_pooled(
    group,
    start: str,
    n: int = 1,
    *,
    best_of: int = 1,
    temperature: float = 1.0,
    seed: int = 0,
) -> list[Completion]:
    """``n`` completions of ``start`` by the group's pooled generator (see the module); no
    contrast applies to it: it is what the others are contrasted with."""
    run = group.pooled
    if run is None:
        raise CharloomError("this group has no pooled generator; train it again without --no-pooled")
    run.vocab.check(start, where="start for the pooled generator")
    if temperature == 0:
        texts = [run.sample(n=1, temperature=0, prefix=start)[0].text]
    else:
        drawn = run.sample(n=n, temperature=temperature, prefix=start, seed=seed, best_of=best_of)
        texts = [s.text for s in drawn]
    return judged(group, texts, start, POOLED_COLUMN, None)


def judged(group, texts: list[str], start: str, category: str, column: int | None) -> list[Completion]:
    """Completions with both judges' p(category | text); ``column`` None: the category is
    the classifier's most likely one for each text."""
    clf = group.classifier.predict_proba(texts)
    judge = group.judge.posterior(texts)
    best = clf.argmax(dim=1)
    columns = best if column is None else torch.full_like(best, column)
    rows = torch.arange(len(texts))
    return [
        Completion(text, start, category, float(j), float(c), group.categories[b])
        for text, j, c, b in zip(
            texts, judge[rows, columns].tolist(), clf[rows, columns].tolist(), best.tolist(), strict=True
        )
    ]


__all__ = [
    "FIRST_WORD",
    "POOLED_COLUMN",
    "Completion",
    "complete",
    "complete_pooled",
    "cut_start",
    "parse_cuts",
    "prepare_name",
]
