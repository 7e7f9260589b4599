"""Running text as a memory-mapped token file, so large corpora fit in little RAM.

``torch.tensor(vocab.encode(text))`` holds a 100 MB text as 100 million Python ints on
the way (about 3 GB) and then as an int64 tensor (800 MB). Here the text is read and
encoded in chunks of a few million characters and the ids appended to a file of the
smallest integer type that holds the vocabulary (one byte per character below 256
symbols); training then gathers its windows from a ``numpy.memmap`` of that file, and
the operating system keeps in memory only the pages that are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from charloom.data.vocab import Vocab

CHUNK_CHARS = 1 << 22  # 4 M characters per read: about 16 MB of code points at a time


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type torch can index with that holds every id."""
    if vocab_size <= 256:
        return np.dtype(np.uint8)
    return np.dtype(np.int16) if vocab_size <= 32768 else np.dtype(np.int32)


class ChunkEncoder:
    """Characters -> ids for whole chunks at once: code points looked up by binary search
    in the vocabulary's sorted code points (numpy, no Python loop per character)."""

    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.points = np.array(sorted(ord(c) for c in vocab.chars), dtype=np.uint32)
        self.ids = np.array([vocab.encode(chr(p))[0] for p in self.points], dtype=np.int64)
        self.dtype = token_dtype(vocab.size)

    def __call__(self, text: str, where: str = "input") -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        at = np.minimum(np.searchsorted(self.points, codes), len(self.points) - 1)
        if not np.array_equal(self.points[at], codes):
            self.vocab.check(text, where)  # names the first unknown character
        return self.ids[at].astype(self.dtype)


def encode_text_file(
    path: str | Path, vocab: Vocab, tokens_path: str | Path, chunk_chars: int = CHUNK_CHARS
) -> torch.Tensor:
    """Encode a UTF-8 text file into ``tokens_path`` and return a 1-D tensor over a
    memory map of it (dtype uint8, int16 or int32; index it and call ``.long()``)."""
    encode = ChunkEncoder(vocab)
    count = 0
    with open(path, encoding="utf-8", newline="") as text, open(tokens_path, "wb") as out:
        while chunk := text.read(chunk_chars):
            ids = encode(chunk, where=str(path))
            out.write(ids.tobytes())
            count += len(ids)
    if count == 0:
        return torch.zeros(0, dtype=torch.from_numpy(np.zeros(0, encode.dtype)).dtype)
    # copy-on-write: torch wants a writable array; the file itself is never changed
    return torch.from_numpy(np.memmap(tokens_path, dtype=encode.dtype, mode="c", shape=(count,)))
