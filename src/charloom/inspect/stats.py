"""Looking at the data before modelling it: counts, alphabet, lengths, common items."""

from __future__ import annotations

from collections import Counter

from charloom.data.corpus import Corpus


def corpus_stats(corpus: Corpus, top: int = 10) -> dict:
    """Figures a person checks first: how many items, how many distinct, which
    characters and how often, how long, which items repeat most."""
    chars = Counter()
    for text in corpus.texts:
        chars.update(text)
    stats: dict = {
        "source": corpus.source,
        "format": corpus.format,
        "characters": sum(chars.values()),
        "alphabet": "".join(sorted(chars)),
        "alphabet_size": len(chars),
        "char_counts": dict(sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    lengths = (
        [len(item) for item in corpus.items]
        if corpus.items is not None
        else [len(line) for line in (corpus.text or "").splitlines()]
    )
    if corpus.items is not None:
        counts = Counter(corpus.items)
        stats.update(
            items=len(corpus.items),
            unique_items=len(counts),
            most_common=[[item, n] for item, n in counts.most_common(top)],
        )
    else:
        stats.update(lines=len(lengths))
    if lengths:
        histogram = Counter(lengths)
        stats.update(
            length_min=min(lengths),
            length_max=max(lengths),
            length_mean=sum(lengths) / len(lengths),
            length_histogram={str(k): histogram[k] for k in sorted(histogram)},
        )
    return stats


def format_stats(stats: dict, width: int = 40) -> str:
    """The figures of ``corpus_stats`` as a page of text with bar charts."""
    lines = [f"source      {stats['source']}"]
    if "items" in stats:
        lines.append(f"items       {stats['items']:,}  ({stats['unique_items']:,} unique)")
    else:
        lines.append(f"characters  {stats['characters']:,} in {stats['lines']:,} lines")
    lines.append(f"alphabet    {stats['alphabet_size']} symbols: {stats['alphabet']!r}")
    lines.append("")
    lines.append("character counts")
    lines += _bars({_show(c): n for c, n in stats["char_counts"].items()}, width)
    if "length_histogram" in stats:
        lines.append("")
        what = "item" if "items" in stats else "line"
        lines.append(
            f"{what} length (min {stats['length_min']}, mean {stats['length_mean']:.1f}, "
            f"max {stats['length_max']})"
        )
        lines += _bars(stats["length_histogram"], width)
    if stats.get("most_common"):
        lines.append("")
        lines.append("most common items")
        lines += [f"  {n:>7,}  {item}" for item, n in stats["most_common"]]
    return "\n".join(lines)


def _show(char: str) -> str:
    return {" ": "' '", "\n": "\\n", "\t": "\\t"}.get(char, char)


def _bars(counts: dict, width: int) -> list[str]:
    peak = max(counts.values()) if counts else 1
    label_width = max((len(str(k)) for k in counts), default=1)
    return [
        f"  {str(k):>{label_width}} {n:>8,} {'#' * max(1, round(width * n / peak))}"
        for k, n in counts.items()
    ]
