"""Looking at the data before modelling it: counts, alphabet, lengths, common items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from charloom.data.corpus import Corpus
from charloom.data.text_stream import text_chunks

LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines breaks


def corpus_stats(corpus: Corpus, top: int = 10) -> dict:
    """Figures a person checks first: how many items, how many distinct, which
    characters and how often, how long, which items repeat most. A text too large to
    hold (``Corpus.stream``) is read a chunk at a time, in one pass beside the scan that
    loading it made (``TextStream.scan``)."""
    chars: Counter[str] = Counter()
    if corpus.items is not None:
        for item in corpus.items:
            chars.update(item)
        lengths = Counter(map(len, corpus.items))
        counts = Counter(corpus.items)
        shape = {
            "items": len(corpus.items),
            "unique_items": len(counts),
            "most_common": [[item, n] for item, n in counts.most_common(top)],
        }
    else:
        lengths = line_lengths(counted(text_pieces(corpus), chars))
        shape = {"lines": lengths.total()}
    stats: dict = {
        "source": corpus.source,
        "format": corpus.format,
        "characters": sum(chars.values()),
        "alphabet": "".join(sorted(chars)),
        "alphabet_size": len(chars),
        "char_counts": dict(sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))),
        **shape,
    }
    if lengths:
        stats.update(
            length_min=min(lengths),
            length_max=max(lengths),
            length_mean=sum(k * n for k, n in lengths.items()) / lengths.total(),
            length_histogram={str(k): lengths[k] for k in sorted(lengths)},
        )
    return stats


def text_pieces(corpus: Corpus) -> Iterator[str]:
    """A running text: the text held, or the chunks of a streamed file."""
    if corpus.stream is not None:
        yield from text_chunks(corpus.stream.path, corpus.stream.encoding)
    else:
        yield corpus.text or ""


def counted(pieces: Iterable[str], chars: Counter[str]) -> Iterator[str]:
    """The pieces, each counted into ``chars`` as it passes, so that the text is read once."""
    for piece in pieces:
        chars.update(piece)
        yield piece


def line_lengths(pieces: Iterable[str]) -> Counter[int]:
    """How many lines of each length a text holds, lines as ``str.splitlines`` cuts them,
    over a text read in pieces: a line may run on into the next piece, and a "\r\n" may
    be cut between two."""
    lengths: Counter[int] = Counter()
    open_line, after_cr = None, False  # the length of a line the last piece left unfinished
    for piece in pieces:
        if after_cr and piece.startswith("\n"):
            piece = piece[1:]  # the end of a "\r\n" whose "\r" closed the last line
        after_cr = False
        if not piece:
            continue
        lines = [len(line) for line in piece.splitlines()]
        if open_line is not None:
            lines[0] += open_line
        open_line = None if piece[-1] in LINE_BREAKS else lines.pop()
        lengths.update(lines)
        after_cr = piece[-1] == "\r"
    if open_line is not None:
        lengths[open_line] += 1
    return lengths


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
