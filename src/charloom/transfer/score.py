"""The transfer score: how often a generator, seeded with the start of a held-out name
from another category, completes it into a name the classifier files under the
generator's own category.

    score(g) = share over sources s != g, held-out names x of s, cuts f, of
               [ argmax_c classifier(complete_g(x[:f])) == g ]

for greedy, sampled (the mean over all N draws, so the expected share of one draw) and
best-of-N decoding. Beside it, the ceiling: the classifier's accuracy on real held-out
names of each category; a generator cannot be measured more typical than its real names.
"""

from __future__ import annotations

from collections import defaultdict

from charloom.errors import CharloomError
from charloom.transfer.complete import cut_start
from charloom.transfer.contrast import contrasted

DECODINGS = ("greedy", "sampled", "best_of_n")
DEFAULT_BEST_OF = 8


def transfer_score(
    group,
    cuts: list[str] = ("0.25", "0.5", "0.75"),
    *,
    max_names: int = 20,
    best_of: int | None = DEFAULT_BEST_OF,
    temperature: float = 1.0,
    contrast: float = 0.0,
    seed: int = 0,
) -> dict:
    """Transfer scores per decoding (overall, per generator, per cut) and the ceiling.

    Greedy decoding is a column of its own, so the sampled and best-of columns draw at
    ``temperature`` (0 there means 1), and best-of needs at least two draws (fewer: the
    default, 8). ``contrast`` > 0 decodes every generator against the pooled one
    (``contrast.py``)."""
    if max_names < 1:
        raise CharloomError(f"--max-names must be at least 1, got {max_names}")
    best_of = best_of if best_of is not None and best_of > 1 else DEFAULT_BEST_OF
    temperature = temperature or 1.0
    held_out = {c: items[:max_names] for c, items in group.split("test").items()}
    clf = group.classifier
    hits: dict[tuple, list[float]] = defaultdict(list)  # (decoding, generator, cut) -> successes
    skipped = 0
    for column, generator in enumerate(group.categories):
        run = contrasted(group.runs[generator], group.pooled, contrast)
        greedy, draws, cut_of = [], [], []
        for source, names in held_out.items():
            if source == generator:
                continue
            for number, name in enumerate(names):
                for cut in cuts:
                    prefix = cut_start(name, cut)
                    if prefix is None or run.vocab.unknown_chars(prefix):
                        skipped += 1
                        continue
                    greedy.append(run.sample(n=1, temperature=0, prefix=prefix)[0].text)
                    draws.extend(
                        s.text
                        for s in run.sample(
                            n=best_of, temperature=temperature, prefix=prefix, seed=seed + number
                        )
                    )
                    cut_of.append(str(cut))
        if not greedy:
            continue
        predicted = clf.predict_proba(greedy + draws).argmax(dim=1) == column
        greedy_ok, draws_ok = predicted[: len(greedy)], predicted[len(greedy) :].view(-1, best_of)
        judged = group.judge.posterior(draws)[:, column].view(-1, best_of)
        best_ok = draws_ok.gather(1, judged.argmax(dim=1, keepdim=True)).squeeze(1)
        for decoding, ok in (
            ("greedy", greedy_ok.double()),
            ("sampled", draws_ok.double().mean(dim=1)),
            ("best_of_n", best_ok.double()),
        ):
            for cut, value in zip(cut_of, ok.tolist(), strict=True):
                hits[(decoding, generator, cut)].append(value)
    return {**_summarise(hits, group, cuts, best_of, max_names, skipped), "contrast": contrast}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summarise(hits, group, cuts, best_of: int, max_names: int, skipped: int) -> dict:
    def pool(decoding, generator=None, cut=None):
        return [
            v
            for (d, g, c), vs in hits.items()
            for v in vs
            if d == decoding and generator in (None, g) and cut in (None, c)
        ]

    test = group.split("test")
    ceiling = group.classifier.evaluate(test)
    return {
        "transfer_score": {d: _mean(pool(d)) for d in DECODINGS},
        "score_by_cut": {str(c): {d: _mean(pool(d, cut=str(c))) for d in DECODINGS} for c in cuts},
        "score_by_generator": {
            g: {d: _mean(pool(d, generator=g)) for d in DECODINGS} for g in group.categories
        },
        "classifier_accuracy": ceiling["accuracy"],
        "ceiling_accuracy_by_category": ceiling["per_category"],
        "confusion": {"categories": ceiling["categories"], "matrix": ceiling["confusion"]},
        "completions": len(pool("greedy")),
        "skipped_seeds": skipped,
        "best_of": best_of,
        "max_names": max_names,
        "cuts": [str(c) for c in cuts],
    }


__all__ = ["DECODINGS", "transfer_score"]
