"""Running text as a token file read window by window, so large corpora fit in little RAM.

``torch.tensor(vocab.encode(text))`` holds a 100 MB text as 100 million Python ints on
the way (about 3 GB) and then as an int64 tensor (800 MB). Here the text is read and
encoded in chunks of a few million characters and the ids appended to a file of the
smallest integer type that holds the vocabulary (one byte per character below 256
symbols); training then reads each window it draws from that file (``TokenFile``).

The file is read, not memory-mapped: a map keeps every page it touches resident in the
process, and where the page cache holds large folios one random window of 257 bytes maps
a hundred kilobytes or more, so a minute of random windows held the whole of a 1 GB
token file. A read holds only the batch; the operating system's cache keeps the rest.
"""

from __future__ import annotations

import os
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


class TokenFile:
    """A token file indexed as a 1-D tensor is: ``len``, a slice, or an index tensor
    whose last dimension holds nearby positions (a window); each row of the index is
    one read of the span it covers, returned as a tensor of the file's integer type."""

    def __init__(self, path: str | Path, dtype: np.dtype, length: int):
        self.path, self.numpy_dtype, self.length = Path(path), np.dtype(dtype), length
        self.dtype = torch.from_numpy(np.zeros(0, self.numpy_dtype)).dtype
        self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - held while training reads

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice | torch.Tensor) -> torch.Tensor:
        if isinstance(index, slice):
            start, stop, stride = index.indices(self.length)
            if stride != 1:
                raise IndexError("a token file is sliced with step 1 only")
            return self._read(start, max(stop - start, 0))
        index = torch.as_tensor(index)
        rows = index.reshape(-1, index.shape[-1] if index.dim() else 1)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= self.length):
            raise IndexError(f"token index out of range for a file of {self.length:,} tokens")
        width = rows.shape[1]
        if len(rows) and bool((rows == rows[:, :1] + torch.arange(width)).all()):  # windows: a read each
            data = b"".join(self._read_bytes(first, width) for first in rows[:, 0].tolist())
            return torch.from_numpy(np.frombuffer(bytearray(data), self.numpy_dtype)).reshape(index.shape)
        gathered = torch.empty(rows.shape, dtype=self.dtype)
        for r, row in enumerate(rows):
            first, last = int(row.min()), int(row.max())
            gathered[r] = self._read(first, last - first + 1)[row - first]
        return gathered.reshape(index.shape)

    def _read(self, start: int, count: int) -> torch.Tensor:
        data = bytearray(self._read_bytes(start, count))  # writable, as torch wants
        return torch.from_numpy(np.frombuffer(data, dtype=self.numpy_dtype))

    def _read_bytes(self, start: int, count: int) -> bytes:
        size = self.numpy_dtype.itemsize
        if hasattr(os, "pread"):
            return os.pread(self._file.fileno(), count * size, start * size)
        self._file.seek(start * size)  # Windows has no pread; training reads from one thread
        return self._file.read(count * size)


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


def encode_text(text: str, vocab: Vocab, where: str = "input") -> torch.Tensor:
    """A text held in memory as a tensor of ids of the token file's integer type (a byte a
    character below 256 symbols), encoded a chunk at a time rather than through a list of
    Python ints and an int64 copy."""
    encode = ChunkEncoder(vocab)
    parts = [encode(text[i : i + CHUNK_CHARS], where) for i in range(0, len(text), CHUNK_CHARS)]
    return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(0, encode.dtype))


def encode_text_file(
    path: str | Path, vocab: Vocab, tokens_path: str | Path, chunk_chars: int = CHUNK_CHARS
) -> TokenFile:
    """Encode a UTF-8 text file into ``tokens_path`` and return it as a ``TokenFile``
    (dtype uint8, int16 or int32; index it and call ``.long()``)."""
    encode = ChunkEncoder(vocab)
    count = 0
    with open(path, encoding="utf-8", newline="") as text, open(tokens_path, "wb") as out:
        while chunk := text.read(chunk_chars):
            ids = encode(chunk, where=str(path))
            out.write(ids.tobytes())
            count += len(ids)
    return TokenFile(tokens_path, encode.dtype, count)
