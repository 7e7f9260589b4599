"""Which data to learn from and how to cut it: the ``data`` section of run.json.

``make_splits`` turns a corpus into the train / val / test splits this describes: charloom's
own seeded, de-duplicated cut, held-out files given by the user, or another tool's
split taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from charloom.data.corpus import FORMATS, Corpus, load_corpus, parse_lines, read_text_file
from charloom.data.sources import ERRORS, NORMAL_FORMS
from charloom.data.splits import (
    SPLIT_KINDS,
    Splits,
    check_fractions,
    default_fractions,
    lecture_split,
    split_items,
    split_stream,
    split_text,
)
from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.options import SEED_LIMIT, check_options, option


@dataclass
class DataConfig:
    """The data of a run. ``source`` is a file or an embedded dataset's name.

    >>> DataConfig("names").format
    'lines'
    """

    source: str | Path = "names"
    format: str = option(
        "lines", help="lines: one item per line (default); text: one running text", choices=FORMATS
    )
    val_file: str | None = option(None, help="use this file as the validation split")
    test_file: str | None = option(None, help="use this file as the test split")
    split_seed: int = option(42, help="seed of the train/val/test shuffle", minimum=0, below=SEED_LIMIT)
    split: str = option(
        "charloom",
        help="charloom (default): lines de-duplicated, shuffled by seed, cut 80/10/10; text cut "
        "90/5/5 in order, the held-out parts at the end; lecture: the makemore notebooks' own "
        "(no de-duplication, random.seed(42) shuffle, cuts at int(0.8 n) and int(0.9 n))",
        choices=SPLIT_KINDS,
    )
    encoding: str = option("utf-8", help="the data's text encoding (utf-8, latin-1, cp1252, ...)")
    errors: str = option(
        "strict",
        help="strict: a byte that does not decode is an error; replace: it becomes U+FFFD, counted",
        choices=ERRORS,
    )
    normalize: str | None = option(
        None, help="Unicode normal form applied before the vocabulary is built", choices=NORMAL_FORMS
    )
    fractions: tuple[float, float, float] | None = None  # None: by format (splits.default_fractions)
    dedup: bool = True
    alphabet: str | None = None  # characters the vocabulary holds even where the data lacks them
    splits: Splits | None = field(default=None, repr=False)  # another tool's split, used as given

    def __post_init__(self):
        check_options(self)
        if self.fractions is None:
            self.fractions = default_fractions(self.format)
        self.fractions = tuple(self.fractions)
        check_fractions(self.fractions)

    def load(self, stream: bool = False) -> Corpus:
        """The corpus; ``stream``: a large text file is read in chunks (``text_stream.py``)."""
        return load_corpus(self.source, self.format, self.encoding, self.errors, self.normalize, stream)

    def make_splits(self, corpus: Corpus) -> Splits:
        if self.splits is not None:
            return given_splits(self.splits, corpus)
        if corpus.stream is not None:
            return split_stream(corpus.stream, self.fractions)
        if corpus.format == "text":
            return split_text(corpus.text or "", self.fractions)
        if self.split == "lecture":
            return lecture_split(corpus.items or [])
        splits = split_items(corpus.items or [], self.fractions, seed=self.split_seed, dedup=self.dedup)
        for name, file in (("val", self.val_file), ("test", self.test_file)):
            if file is not None:
                setattr(splits, name, parse_lines(read_text_file(file), file))
                splits.notes.append(f"{name} from {file}")
        if self.val_file is not None or self.test_file is not None:
            # items of the given files go back into training only if not held out
            held = set(splits.val) | set(splits.test)
            splits.train = [item for item in (corpus.items or []) if item not in held]
            if self.dedup:
                splits.train = list(dict.fromkeys(splits.train))
        return splits

    def vocabulary(self, corpus: Corpus, splits: Splits, extra: str = "") -> Vocab:
        """The characters a model of this data reads: every split's (a streamed text's, as
        its scan found them), ``alphabet``'s, and ``extra`` (a parent run's)."""
        covered = corpus.texts if splits.streamed is not None else [*splits.train, *splits.val, *splits.test]
        return Vocab.from_texts([*covered, self.alphabet or "", extra], boundary=(self.format == "lines"))

    def to_json(self, corpus: Corpus, splits: Splits) -> dict:
        """run.json's data section: what was read, and how it was cut."""
        notes = list(splits.notes)
        if corpus.replaced:
            notes.append(
                f"{corpus.replaced:,} characters did not decode as {self.encoding} and became U+FFFD"
            )
        if self.normalize:
            notes.append(f"normalised to {self.normalize}")
        return {
            "source": corpus.source,
            **({"files": corpus.files} if corpus.files else {}),
            "encoding": self.encoding,
            "format": corpus.format,
            "fingerprint": corpus.fingerprint,
            "splits": splits.sizes(),
            "duplicates_dropped": splits.duplicates_dropped,
            "split_seed": self.split_seed,
            "split": self.split,
            "fractions": list(self.fractions),
            "dedup": self.dedup,
            "notes": notes,
        }


def given_splits(splits: Splits, corpus: Corpus) -> Splits:
    """Splits the caller made (someone else's benchmark split), used as they are: no
    de-duplication, and a note of how many held-out items also occur in training, since a
    model scores a seen item better and that flatters its val and test figures."""
    if corpus.format != "lines":
        raise CharloomError("given splits are lists of items: they need --format lines")
    if not splits.train:
        raise CharloomError("the given training split is empty")
    seen = set(splits.train)
    notes = [*splits.notes, "splits given by the caller"]
    for name in ("val", "test"):
        overlap = sum(item in seen for item in getattr(splits, name))
        if overlap:
            notes.append(f"{overlap:,} of {len(getattr(splits, name)):,} {name} items also occur in train")
    return Splits(list(splits.train), list(splits.val), list(splits.test), 0, notes)
