"""Training and evaluation batches, gathered from tensors encoded once.

No DataLoader and no worker processes: every split is encoded up front into a tensor,
and a batch is one random gather from it (fast on a CPU, and reproducible from one
``torch.Generator``). Three layouts match the models' ``training_layout``:

- sequence, lines: whole items ``[0, c1 .. cn]`` predicting ``[c1 .. cn, 0]``, padded
  on the right; padding targets are IGNORE, so the loss is token-weighted.
- sequence, text: random windows of ``block_size`` characters of the running text.
- window: one example per target: the ``C`` tokens before it (boundary-padded at the
  start of an item), as in the MLP lectures.
- packed, lines: several whole items per row, no padding between them (``packing.py``),
  for models that can keep items apart inside a row (the transformer).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from enum import Enum

import numpy as np
import torch

from charloom.data.tokens import TokenFile
from charloom.data.vocab import BOUNDARY_ID, Vocab

Batch = tuple[torch.Tensor, torch.Tensor]  # (inputs, targets)
IGNORE = -1  # the target of a padding position: it counts for nothing in the loss


class Layout(str, Enum):
    """How a model family reads its training batches (its ``training_layout``)."""

    SEQUENCE = "sequence"  # padded whole items, or windows of running text: every position predicted
    WINDOW = "window"  # one example per target: the fixed context before it
    PACKED = "packed"  # several whole items per row, kept apart by the model (packing.py)


def encode_items(items: list[str], vocab: Vocab, where: str = "item") -> list[list[int]]:
    """Each item framed by boundaries: [0, c1, ..., cn, 0]."""
    return [[BOUNDARY_ID, *vocab.encode(item, where), BOUNDARY_ID] for item in items]


def windows_and_targets(sequences: list[list[int]], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (window, next token) pair of framed sequences: X[N, C], Y[N].

    The window of a position is the C tokens up to and including it, left-padded with
    the boundary inside its own item (never reaching into the previous item).
    """
    pad = np.zeros(context - 1, dtype=np.int64)
    pieces, starts, targets = [], [], []
    offset = 0
    for seq in sequences:
        arr = np.asarray(seq, dtype=np.int64)
        pieces.append(pad)
        pieces.append(arr)
        n = len(arr) - 1  # predictions in this item
        starts.append(offset + np.arange(n))
        targets.append(arr[1:])
        offset += context - 1 + len(arr)
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    if not starts:
        return torch.zeros(0, context, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    start = np.concatenate(starts)
    index = start[:, None] + np.arange(context)[None, :]
    return torch.from_numpy(flat[index]), torch.from_numpy(np.concatenate(targets))


def pad_sequences(sequences: list[list[int]]) -> torch.Tensor:
    """Framed sequences as one tensor [N, Lmax] padded with IGNORE."""
    longest = max(len(s) for s in sequences)
    out = torch.full((len(sequences), longest), IGNORE, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


class Batches:
    """One split, encoded; ``sample`` draws a random training batch, ``chunks`` walks the
    whole split once for evaluation. With ``carries_state`` (``streams.py``) the chunks
    are consecutive windows of one text, to be read with the model's state carried.
    ``layout`` is how its inputs are laid out, passed to the model with them."""

    carries_state = False
    layout = Layout.SEQUENCE

    def epoch_steps(self, batch_size: int) -> int:
        """Steps of ``batch_size`` examples that read as many targets as the split holds
        (one example per target unless the layout says otherwise)."""
        return math.ceil(self.num_targets / batch_size)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        raise NotImplementedError

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        raise NotImplementedError

    @property
    def num_targets(self) -> int:
        raise NotImplementedError


class ItemBatches(Batches):
    """Padded whole items (sequence layout, line mode)."""

    def __init__(self, sequences: list[list[int]]):
        self.tokens = pad_sequences(sequences)  # (N, Lmax), IGNORE-padded
        self.lengths = torch.tensor([len(s) for s in sequences])

    def _batch(self, rows: torch.Tensor) -> Batch:
        longest = int(self.lengths[rows].max())
        block = self.tokens[rows, :longest]
        inputs = block[:, :-1].clamp(min=0)  # padding inputs are never predicted from
        return inputs, block[:, 1:]

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        rows = torch.randint(len(self.tokens), (batch_size,), generator=generator)
        return self._batch(rows)

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        order = torch.argsort(self.lengths, stable=True)  # similar lengths: little padding
        for start in range(0, len(order), batch_size):
            yield self._batch(order[start : start + batch_size])

    @property
    def num_targets(self) -> int:
        return int((self.lengths - 1).sum())

    def epoch_steps(self, batch_size: int) -> int:
        return math.ceil(len(self.tokens) / batch_size)  # an example is a whole item


class WindowBatches(Batches):
    """(window, target) examples (window layout, line mode)."""

    layout = Layout.WINDOW

    def __init__(self, sequences: list[list[int]], context: int):
        self.windows, self.targets = windows_and_targets(sequences, context)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        rows = torch.randint(len(self.targets), (batch_size,), generator=generator)
        return self.windows[rows], self.targets[rows]

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(self.targets), batch_size):
            yield self.windows[start : start + batch_size], self.targets[start : start + batch_size]

    @property
    def num_targets(self) -> int:
        return len(self.targets)


CHUNK_TOKENS = 8_192  # inputs per evaluation chunk of running text


class TextBatches(Batches):
    """Windows of running text. ``block`` tokens of input per row; with ``window_only``
    each row predicts only its last target (window layout), else every position.

    ``stream`` may be any integer dtype, or a ``TokenFile`` read window by window (a
    large corpus, see ``tokens.py``); only the gathered windows become int64."""

    def __init__(self, stream: torch.Tensor | TokenFile, block: int, window_only: bool = False):
        if len(stream) < 2:
            raise ValueError("a text split needs at least two characters")
        self.stream = stream
        self.block = max(1, min(block, len(stream) - 1))
        self.window_only = window_only
        self.layout = Layout.WINDOW if window_only else Layout.SEQUENCE

    def _rows(self, starts: torch.Tensor) -> Batch:
        offsets = torch.arange(self.block + 1)
        block = self.stream[starts[:, None] + offsets[None, :]].long()  # (B, block + 1)
        if self.window_only:
            return block[:, :-1], block[:, -1]
        return block[:, :-1], block[:, 1:]

    @property
    def _max_start(self) -> int:
        return len(self.stream) - self.block - 1

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        starts = torch.randint(self._max_start + 1, (batch_size,), generator=generator)
        return self._rows(starts)

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        """Every target once: sequence models read consecutive blocks; window models slide
        one character at a time (each target with its full window). At most
        ``CHUNK_TOKENS`` inputs a chunk: 512 rows of a 256-character context would hold
        gigabytes of attention and MLP activations at once, for no faster a pass."""
        step = 1 if self.window_only else self.block
        starts = torch.arange(0, self._max_start + 1, step)
        rows = max(1, min(batch_size, CHUNK_TOKENS // self.block))
        for i in range(0, len(starts), rows):
            yield self._rows(starts[i : i + rows])
        covered = int(starts[-1]) + self.block  # index of the last target predicted so far
        if not self.window_only and covered < len(self.stream) - 1:
            # the tail the consecutive blocks missed: the last block, new targets only
            inputs, targets = self._rows(torch.tensor([self._max_start]))
            targets = targets.clone()
            targets[:, : covered - self._max_start] = IGNORE
            yield inputs, targets

    @property
    def num_targets(self) -> int:
        return len(self.stream) - (self.block if self.window_only else 1)

    def epoch_steps(self, batch_size: int) -> int:
        per_row = 1 if self.window_only else self.block  # targets an example predicts
        return math.ceil(self.num_targets / (batch_size * per_row))
