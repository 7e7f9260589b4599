"""A corpus: the items of a line file (one per line) or one running text.

Reading is strict, because a model trained on a mangled file is worse than an error:
a missing, empty, whitespace-only, binary or non-UTF-8 file is refused with one
sentence that says what is wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from charloom.data import datasets
from charloom.data.sources import read_file, read_source
from charloom.data.text_stream import TextStream, streamable
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
    files: list[str] = field(default_factory=list)  # the files of a folder or a glob, in order
    replaced: int = 0  # characters that did not decode, under --errors replace
    stream: TextStream | None = None  # a text too large to hold: read from its file in chunks

    @property
    def texts(self) -> list[str]:
        """Everything the vocabulary must cover."""
        if self.stream is not None:
            return [self.stream.chars]
        return self.items if self.items is not None else [self.text or ""]

    def __len__(self) -> int:
        if self.stream is not None:
            return self.stream.length
        return len(self.items) if self.items is not None else len(self.text or "")


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 file (or a compressed one), refusing missing, binary and undecodable
    ones by name."""
    return read_file(Path(path))[0]


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


def load_corpus(
    source: str | Path,
    format: str = "lines",
    encoding: str = "utf-8",
    errors: str = "strict",
    normalize: str | None = None,
    stream: bool = False,
) -> Corpus:
    """Load a dataset's name, a file, a folder, a glob, a compressed file or ``-`` (standard
    input; see ``data/sources.py``). ``stream``: a large text file is read in chunks and
    never held (``text_stream.py``); what is read must then go through ``make_splits``.

    >>> corpus = load_corpus("names")           # the embedded US first names
    >>> corpus.items[:3]                         # doctest: +SKIP
    """
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    source = str(source)
    if stream and format == "text" and streamable(source, errors, normalize):
        found = TextStream.scan(Path(source), encoding)
        return Corpus("text", str(Path(source).resolve()), found.fingerprint, stream=found)
    if datasets.is_dataset(source) and not Path(source).exists():
        if datasets.get_dataset(source).format == "text" and format != "text":
            raise DataError(f"{source} is running text, not one item per line: add --format text")
        text = datasets.dataset_text(source)
        label = f"dataset:{source}"
        if datasets.get_dataset(source).format == "categorized":
            # category<TAB>item: the items alone, for models that ignore the category
            text = "\n".join(line.split("\t", 1)[-1] for line in text.splitlines())
        files, replaced = [], 0
    else:
        read = read_source(source, encoding, errors, normalize)
        text, label, files, replaced = read.text, read.label, read.files, read.replaced
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if format == "lines":
        return Corpus(
            "lines", label, fingerprint, items=parse_lines(text, source), files=files, replaced=replaced
        )
    if not text.strip():
        raise DataError(f"{source} has no text (it is empty or only whitespace)")
    return Corpus("text", label, fingerprint, text=text, files=files, replaced=replaced)
