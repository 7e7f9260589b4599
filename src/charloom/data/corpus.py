"""A corpus: the items of a line file (one per line) or one running text.

Reading is strict, because a model trained on a mangled file is worse than an error:
a missing, empty, whitespace-only, binary or non-UTF-8 file is refused with one
sentence that says what is wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from charloom.data import datasets
from charloom.errors import DataError

FORMATS = ("lines", "text")
MAX_ITEM_CHARS = 1000  # longer 'items' are running text read the wrong way


@dataclass
class Corpus:
    """Items (line mode) or a text (text mode), with where they came from.

    ``fingerprint`` is the sha256 of the decoded text, so a run can tell whether the
    data it was trained on has changed.
    """

    format: str
    source: str
    fingerprint: str
    items: list[str] | None = None
    text: str | None = None

    @property
    def texts(self) -> list[str]:
        """Everything the vocabulary must cover."""
        return self.items if self.items is not None else [self.text or ""]

    def __len__(self) -> int:
        return len(self.items) if self.items is not None else len(self.text or "")


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 file, refusing missing, binary and undecodable ones by name."""
    path = Path(path)
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise DataError(f"cannot read {str(path)[:100]}: {exc.strerror or exc}") from None
    if not exists:
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a text file with one item per line")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:1_000_000]:
        raise DataError(f"{path} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path} is not UTF-8 (byte {exc.start}, line {line}); convert it, e.g. with iconv"
        ) from None
    return text.removeprefix("\ufeff")


def parse_lines(text: str, source: str) -> list[str]:
    """One item per line: surrounding whitespace trimmed, blank lines skipped."""
    items = [line.strip() for line in text.splitlines()]
    items = [item for item in items if item]
    if not items:
        raise DataError(f"{source} has no items (it is empty or only whitespace)")
    for number, item in enumerate(items, 1):
        if len(item) > MAX_ITEM_CHARS:
            raise DataError(
                f"{source}: item {number} is {len(item):,} characters long; for running text "
                "use --format text"
            )
    return items


def load_corpus(source: str | Path, format: str = "lines") -> Corpus:
    """Load a file path or the name of an embedded dataset.

    >>> corpus = load_corpus("names")           # the embedded US first names
    >>> corpus.items[:3]                         # doctest: +SKIP
    """
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    source = str(source)
    if datasets.is_dataset(source) and not Path(source).exists():
        if datasets.get_dataset(source).format == "text" and format != "text":
            raise DataError(f"{source} is running text, not one item per line: add --format text")
        text = datasets.dataset_text(source)
        label = f"dataset:{source}"
        if datasets.get_dataset(source).format == "categorized":
            # category<TAB>item: the items alone, for models that ignore the category
            text = "\n".join(line.split("\t", 1)[-1] for line in text.splitlines())
    else:
        text = read_text_file(source)
        label = str(Path(source).resolve())
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if format == "lines":
        return Corpus("lines", label, fingerprint, items=parse_lines(text, source))
    if not text.strip():
        raise DataError(f"{source} has no text (it is empty or only whitespace)")
    return Corpus("text", label, fingerprint, text=text)
