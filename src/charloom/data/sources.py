"""Where a corpus comes from: a file, a folder of files, a glob, a compressed file, or
standard input (``-``), in any encoding.

    names.txt            one file
    corpus/              its text files, in sorted path order (hidden and binary ones skipped)
    'logs/*.txt'         the files the pattern matches, sorted ('**' reaches into folders)
    names.txt.gz         .gz, .bz2 and .xz read through their decompressors
    -                    standard input, read to its end

Files are joined by a newline, so that the last line of one never runs into the first of
the next. Decoding is strict by default; ``errors="replace"`` puts U+FFFD for each byte
that does not decode and the count is reported; ``normalize`` (NFC or NFKC) folds the
different spellings of one character into one before the vocabulary is built.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from charloom.errors import DataError

DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
READING = ("encoding", "errors", "normalize")  # DataConfig's options of how a source is read
ERRORS = ("strict", "replace")
NORMAL_FORMS = ("NFC", "NFKC")
SNIFF = 8192  # bytes looked at to tell a binary file from text


@dataclass
class Source:
    """The decoded text of a source, where it came from, and what was done to it."""

    text: str
    label: str
    files: list[str] = field(default_factory=list)  # the files read, for a folder or a glob
    replaced: int = 0  # characters that did not decode, under errors="replace"


def is_pattern(source: str) -> bool:
    return any(c in source for c in "*?[") and not Path(source).exists()


def read_source(
    source: str, encoding: str = "utf-8", errors: str = "strict", normalize: str | None = None
) -> Source:
    """The text of ``source`` (see the module's table), decoded and normalised."""
    if errors not in ERRORS:
        raise DataError(f"--errors must be one of {', '.join(ERRORS)}, got {errors!r}")
    if normalize is not None and normalize not in NORMAL_FORMS:
        raise DataError(f"--normalize must be one of {', '.join(NORMAL_FORMS)}, got {normalize!r}")
    try:
        "".encode(encoding)
    except LookupError:
        raise DataError(f"unknown --encoding {encoding!r} (for example utf-8, latin-1, cp1252)") from None
    if source == "-" and not hasattr(sys.stdin, "buffer"):  # a stand-in that is text already
        found = Source(sys.stdin.read(), "stdin", [], 0)
    elif source == "-":
        raw = sys.stdin.buffer.read()
        text, replaced = decode(raw, "standard input", encoding, errors)
        found = Source(text, "stdin", [], replaced)
    elif is_pattern(source):
        paths = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
        if not paths:
            raise DataError(f"no file matches {source}")
        found = _read_many(paths, source, encoding, errors)
    else:
        path = Path(source)
        if _exists(path) and path.is_dir():
            found = _read_many(_text_files(path), str(path.resolve()), encoding, errors, root=path)
        else:
            text, replaced = read_file(path, encoding, errors)
            found = Source(text, str(path.resolve()), [], replaced)
    if normalize is not None:
        found.text = unicodedata.normalize(normalize, found.text)
    return found


def read_file(path: Path, encoding: str = "utf-8", errors: str = "strict") -> tuple[str, int]:
    """One file's text (through its decompressor), refusing missing and binary files by name."""
    if not _exists(path):
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a text file with one item per line")
    opener = DECOMPRESSORS.get(path.suffix.lower())
    try:
        if opener is None:
            raw = path.read_bytes()
        else:
            with opener(path, "rb") as stream:
                raw = stream.read()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        what = "read" if opener is None else f"decompress ({path.suffix})"
        raise DataError(f"cannot {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None
    refuse_binary(raw[:1_000_000], path)
    return decode(raw, str(path), encoding, errors)


def refuse_binary(start: bytes | str, path: Path) -> None:
    """A file whose start holds a NUL is not text, whatever its encoding claims."""
    if (b"\x00" if isinstance(start, bytes) else "\x00") in start:
        raise DataError(f"{path} looks binary (it contains NUL bytes); give a text file")


def decode(raw: bytes, name: str, encoding: str, errors: str) -> tuple[str, int]:
    """Bytes to text, a byte-order mark dropped; under ``replace``, how many were replaced."""
    try:
        text = raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{name} is not {encoding} (byte {exc.start}, line {line}); give its --encoding, or "
            "--errors replace"
        ) from None
    except (UnicodeError, ValueError) as exc:  # codecs that are not character encodings (idna, ...)
        raise DataError(f"{name} cannot be read as {encoding}: {str(exc)[:120]}") from None
    replaced = text.count("\ufffd") - (
        raw.decode(encoding, errors="ignore").count("\ufffd") if errors == "replace" else 0
    )
    return text.removeprefix("\ufeff"), max(replaced, 0)


def _read_many(paths: list[Path], label: str, encoding: str, errors: str, root: Path | None = None) -> Source:
    if not paths:
        raise DataError(f"the folder {label} holds no text files")
    texts, replaced = [], 0
    for path in paths:
        text, bad = read_file(path, encoding, errors)
        texts.append(text if text.endswith("\n") else text + "\n")
        replaced += bad
    names = [str(p.relative_to(root)) if root is not None else str(p) for p in paths]
    return Source("".join(texts), label, names, replaced)


def _text_files(folder: Path) -> list[Path]:
    """A folder's files, hidden ones and binary ones left out, in sorted path order."""
    found = []
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        parts = path.relative_to(folder).parts
        if not path.is_file() or any(part.startswith(".") for part in parts):
            continue
        if path.suffix.lower() in DECOMPRESSORS:
            found.append(path)
            continue
        with path.open("rb") as stream:
            if b"\x00" not in stream.read(SNIFF):
                found.append(path)
    return found


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise DataError(f"cannot read {str(path)[:100]}: {exc.strerror or exc}") from None
