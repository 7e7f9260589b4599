"""A running text too large to hold, read in chunks from its file and never held whole.

Read at once, a 1 GB text is held as its bytes, as a str, as the UTF-8 bytes its
fingerprint hashes and as its three splits: about four times its size. Read here, one
pass takes what training needs to know before it starts (its length in characters, its
characters, the fingerprint of its text) and a second pass writes each split's file,
cut at the same characters as ``split_text``; the splits are then encoded to token
files chunk by chunk and read window by window (``tokens.py``). Memory stays at a few
chunks, whatever the text's size.

Only a text that can be read in one pass is streamed: one file (plain or compressed),
decoded strictly, not normalised, and larger than ``STREAM_BYTES``; anything else is read
at once, which is simpler and as fast where it fits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charloom.data.sources import DECOMPRESSORS, is_pattern, refuse_binary
from charloom.errors import DataError
from charloom.io import atomic_write_chunks

STREAM_BYTES = 64 << 20  # files above this are streamed
CHUNK_CHARS = 1 << 22


def streamable(source: str, errors: str, normalize: str | None) -> bool:
    """Whether ``source`` is one file that can be read in one strict pass, and large."""
    if source == "-" or is_pattern(source) or errors != "strict" or normalize is not None:
        return False
    path = Path(source)
    return path.is_file() and path.stat().st_size > STREAM_BYTES


def text_chunks(path: Path, encoding: str) -> Iterator[str]:
    """The decoded text of ``path`` in chunks of ``CHUNK_CHARS`` characters, its byte-order
    mark dropped, as ``sources.read_file`` would read it whole."""
    opener = DECOMPRESSORS.get(path.suffix.lower(), open)
    read = 0
    try:
        with opener(path, "rt", encoding=encoding, errors="strict", newline="") as stream:
            while chunk := stream.read(CHUNK_CHARS):
                if read == 0:
                    refuse_binary(chunk, path)
                    chunk = chunk.removeprefix("\ufeff")
                read += len(chunk)
                yield chunk
    except UnicodeDecodeError:
        raise DataError(
            f"{path} is not {encoding} (after character {read:,}); give its --encoding, or --errors replace"
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


@dataclass
class TextStream:
    """A text file read in chunks: what one pass over it found."""

    path: Path
    encoding: str
    length: int  # characters
    chars: str  # every character it holds, sorted by code point
    fingerprint: str  # sha256 of its text as UTF-8, as a text read at once is fingerprinted

    @classmethod
    def scan(cls, path: Path, encoding: str) -> TextStream:
        length, points, digest, blank = 0, np.zeros(0, dtype=np.uint32), hashlib.sha256(), True
        for chunk in text_chunks(path, encoding):
            length += len(chunk)
            codes = np.frombuffer(chunk.encode("utf-32-le"), dtype=np.uint32)
            points = np.union1d(points, np.unique(codes))
            digest.update(chunk.encode("utf-8"))
            blank = blank and not chunk.strip()
        if blank:
            raise DataError(f"{path} has no text (it is empty or only whitespace)")
        return cls(path, encoding, length, "".join(map(chr, points.tolist())), digest.hexdigest())

    def write_parts(self, ends: list[int], paths: list[Path]) -> None:
        """Characters [0, ends[0]), [ends[0], ends[1]), ... each to its path (atomically),
        reading the file once."""
        chunks = text_chunks(self.path, self.encoding)
        carried = ""  # read, not yet written: the start of the next part
        start = 0
        for end, path in zip(ends, paths, strict=True):

            def part(end: int = end, start: int = start) -> Iterator[bytes]:
                nonlocal carried
                position = start
                while position < end:
                    if not carried:
                        carried = next(chunks, "")
                        if not carried:
                            return
                    take = carried[: end - position]
                    carried = carried[len(take) :]
                    position += len(take)
                    yield take.encode("utf-8")

            atomic_write_chunks(path, part())
            start = end
