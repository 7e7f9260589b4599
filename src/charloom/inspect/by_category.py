"""The data of a categorized set, one category at a time: how many items, how long, which
repeat, which characters each uses most, and the length distributions in one picture.
Styles differ in exactly these (Icelandic names run long, Japanese ones use few letters),
so a user sees what a generator must learn before training one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from charloom.errors import CharloomError


def category_stats(items: dict[str, list[str]], top: int = 5) -> dict:
    """Per category: items, distinct items, length min/mean/max and histogram, its top
    characters, and its ``top`` most common items (only those that repeat)."""
    categories = {}
    for category, lines in items.items():
        lengths = Counter(len(line) for line in lines)
        chars = Counter(ch for line in lines for ch in line)
        repeats = [[item, n] for item, n in Counter(lines).most_common(top) if n > 1]
        total = sum(chars.values())
        categories[category] = {
            "items": len(lines),
            "unique_items": len(set(lines)),
            "length_min": min(lengths) if lines else 0,
            "length_mean": sum(k * n for k, n in lengths.items()) / max(len(lines), 1),
            "length_max": max(lengths) if lines else 0,
            "length_histogram": {str(k): lengths[k] for k in sorted(lengths)},
            "alphabet_size": len(chars),
            "top_chars": [[ch, n / total] for ch, n in chars.most_common(8)],
            "most_common": repeats,
        }
    return {
        "categories": categories,
        "items": sum(c["items"] for c in categories.values()),
        "category_count": len(categories),
    }


def format_category_stats(stats: dict) -> str:
    """One block per category: its figures, a length histogram in one line, top items."""
    lines = [f"{stats['items']:,} items in {stats['category_count']} categories", ""]
    longest = max((int(k) for c in stats["categories"].values() for k in c["length_histogram"]), default=0)
    lines.append(f"{'category':<14}{'items':>8}{'unique':>8}{'len':>6}  lengths 1..{longest}")
    for category, c in stats["categories"].items():
        lines.append(
            f"{category[:14]:<14}{c['items']:>8,}{c['unique_items']:>8,}{c['length_mean']:>6.1f}  "
            + spark(c["length_histogram"], longest)
        )
    lines.append("")
    for category, c in stats["categories"].items():
        chars = " ".join(f"{_show(ch)} {share:.0%}" for ch, share in c["top_chars"][:6])
        lines.append(f"{category}: lengths {c['length_min']}-{c['length_max']}; top characters {chars}")
        if c["most_common"]:
            lines.append("  most common: " + ", ".join(f"{item} ({n})" for item, n in c["most_common"]))
    return "\n".join(lines)


SPARKS = " ▁▂▃▄▅▆▇█"


def spark(histogram: dict[str, int], longest: int) -> str:
    """A length histogram as one line of block characters, lengths 1 to ``longest``."""
    counts = [histogram.get(str(k), 0) for k in range(1, longest + 1)]
    peak = max(counts, default=0) or 1
    return "".join(SPARKS[-1 if n == peak else min(len(SPARKS) - 2, round(8 * n / peak))] for n in counts)


def plot_lengths(stats: dict, path: Path) -> Path:
    """A PNG of each category's length distribution (shares, so sizes do not matter)."""
    try:
        import matplotlib
    except ImportError:
        raise CharloomError("plots need matplotlib; install it: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for category, c in stats["categories"].items():
        lengths = sorted(int(k) for k in c["length_histogram"])
        ax.plot(lengths, [c["length_histogram"][str(k)] / c["items"] for k in lengths], label=category)
    ax.set_xlabel("length (characters)")
    ax.set_ylabel("share of the category's items")
    ax.set_title("length by category")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _show(char: str) -> str:
    return {" ": "␣", "\t": "\\t"}.get(char, char)
