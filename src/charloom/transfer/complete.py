"""Completing a seed with one category's generator: greedy, sampled, or best-of-N.

Best-of-N draws N samples and keeps the one the likelihood-ratio judge finds most
typical of the generator's category, p(c | x) (judge/likelihood.py). Every completion
also carries the classifier's p(c | x), which is what measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

from charloom.data.folding import fold_accents
from charloom.errors import CharloomError


@dataclass
class Completion:
    """A seed completed by one category's generator."""

    text: str  # seed included
    seed: str
    category: str  # the generator's
    judge_prob: float  # p(category | text) by the likelihood-ratio judge
    classifier_prob: float  # p(category | text) by the classifier

    @property
    def continuation(self) -> str:
        return self.text[len(self.seed) :]


def cut_seed(name: str, fraction: float) -> str:
    """The first ``fraction`` of ``name``, rounded half up, at least one character.

    >>> cut_seed("derek vroom", 0.5), cut_seed("al", 0.1)
    ('derek ', 'a')
    """
    if not 0 < fraction <= 1:
        raise CharloomError(f"a cut must be a fraction in (0, 1], got {fraction}")
    return name[: max(1, int(fraction * len(name) + 0.5))]


def prepare_seed(text: str, keep_accents: bool) -> str:
    """A seed as the group's data was prepared: lowercase, spaces squeezed, accents folded
    unless the group kept them."""
    text = " ".join(text.lower().split())
    if not text:
        raise CharloomError("a seed cannot be empty")
    return text if keep_accents else fold_accents(text)


def parse_cuts(text: str) -> list[float]:
    """'0.25,0.5' -> [0.25, 0.5]."""
    try:
        cuts = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CharloomError(f"--cut takes fractions joined by commas (0.25,0.5); got {text!r}") from None
    if not cuts:
        raise CharloomError("--cut needs at least one fraction")
    for cut in cuts:
        cut_seed("x", cut)  # validates the range
    return cuts


def complete(
    group,
    category: str,
    seed: str,
    n: int = 1,
    *,
    best_of: int = 1,
    temperature: float = 1.0,
    rng_seed: int = 0,
) -> list[Completion]:
    """``n`` completions of ``seed`` by ``category``'s generator; temperature 0 is greedy
    (one completion). A seed character the generator never saw raises
    UnknownCharacterError naming it."""
    group.check_category(category)
    if n < 1 or best_of < 1:
        raise CharloomError(f"--samples and --best-of must be at least 1, got {n} and {best_of}")
    run = group.runs[category]
    run.vocab.check(seed, where=f"seed for the {category} generator")
    column = group.categories.index(category)
    if temperature == 0:
        texts = [run.sample(n=1, temperature=0, prefix=seed)[0].text]
    else:
        draws = [
            s.text for s in run.sample(n=n * best_of, temperature=temperature, prefix=seed, seed=rng_seed)
        ]
        if best_of == 1:
            texts = draws
        else:
            judged = group.judge.posterior(draws)[:, column].view(n, best_of)  # (n, N)
            best = judged.argmax(dim=1).tolist()
            texts = [draws[i * best_of + b] for i, b in enumerate(best)]
    judge = group.judge.posterior(texts)[:, column]
    clf = group.classifier.predict_proba(texts)[:, column]
    return [
        Completion(t, seed, category, float(j), float(c))
        for t, j, c in zip(texts, judge.tolist(), clf.tolist(), strict=True)
    ]


__all__ = ["Completion", "complete", "cut_seed", "parse_cuts", "prepare_seed"]
