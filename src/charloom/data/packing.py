"""Several items per row: training on names without computing on padding.

A batch of whole names padded to the longest one is mostly padding (names average
about 7 characters, the longest 15), and every padding position costs a full forward
and backward pass. Packing lays the items of a batch end to end in rows of ``row_len``
positions instead:

    row 0:  [0 e m m a | 0 o l i v i a | 0 a v a | pad pad]
    pos:     0 1 2 3 4   0 1 2 3 4 5 6   0 1 2   0   0
    seg:     0 0 0 0 0   1 1 1 1 1 1 1   2 2 2   -1  -1

Each item keeps its own inputs and targets; ``positions`` restart at 0 at every item
and ``segments`` say which item of the row a position belongs to, so a model that
attends only within a segment (the transformer's block-diagonal causal mask) computes
exactly what it computes on each item alone. The loss stays token-weighted: the same
targets, fewer rows.

Items are drawn exactly as ``ItemBatches`` draws them (same generator calls), then
placed first-fit by decreasing length; an item is never split across rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch

from charloom.data.batches import IGNORE, Batch, Batches, Layout

# Positions per packed row. Longer rows waste less at their ends but spend more attention
# on pairs the mask throws away (cost per position grows with the row); docs/tuning.md.
PACKED_ROW_LEN = 32


class Packed(NamedTuple):
    """The inputs of a packed batch: three (R, T) tensors."""

    tokens: torch.Tensor  # input ids; 0 on padding
    positions: torch.Tensor  # position of each token inside its own item, from 0
    segments: torch.Tensor  # item number within the batch; -1 on padding


def first_fit(lengths: np.ndarray, row_len: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Place items of the given lengths into rows of ``row_len``, longest first, each into
    the first row with room. Returns each item's row and column and the number of rows."""
    rows = np.zeros(len(lengths), dtype=np.int64)
    cols = np.zeros(len(lengths), dtype=np.int64)
    used: list[int] = []  # positions filled in each row so far
    for item in np.argsort(-lengths, kind="stable"):
        n = int(lengths[item])
        r = next((r for r, filled in enumerate(used) if filled + n <= row_len), len(used))
        if r == len(used):
            used.append(0)
        rows[item], cols[item] = r, used[r]
        used[r] += n
    return rows, cols, len(used)


class PackedBatches(Batches):
    """Framed items ``[0, c1 .. cn, 0]``, packed into rows of ``row_len`` inputs.

    Item i contributes ``len_i - 1`` inputs ``[0, c1 .. cn]`` and as many targets
    ``[c1 .. cn, 0]``; ``row_len`` must hold the longest item's inputs.
    """

    layout = Layout.PACKED

    def __init__(self, sequences: list[list[int]], row_len: int):
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        self.inputs_per_item = lengths - 1
        longest = int(self.inputs_per_item.max())
        if longest > row_len:
            raise ValueError(f"an item of {longest} inputs does not fit in rows of {row_len}")
        self.row_len = row_len
        self.flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])

    def pack(self, items: np.ndarray) -> tuple[Packed, torch.Tensor]:
        """The packed inputs and the (R, T) targets of the given items."""
        m = self.inputs_per_item[items]  # inputs of each chosen item
        rows, cols, n_rows = first_fit(m, self.row_len)
        owner = np.repeat(np.arange(len(items)), m)  # for every input: which chosen item
        within = np.arange(len(owner)) - np.repeat(np.cumsum(m) - m, m)  # position in its item
        r, c = rows[owner], cols[owner] + within
        source = self.offsets[items][owner] + within  # where the input sits in ``flat``
        shape = (n_rows, self.row_len)
        tokens = np.zeros(shape, dtype=np.int64)
        targets = np.full(shape, IGNORE, dtype=np.int64)
        positions = np.zeros(shape, dtype=np.int64)
        segments = np.full(shape, -1, dtype=np.int64)
        tokens[r, c] = self.flat[source]
        targets[r, c] = self.flat[source + 1]
        positions[r, c] = within
        segments[r, c] = owner
        packed = Packed(*(torch.from_numpy(a) for a in (tokens, positions, segments)))
        return packed, torch.from_numpy(targets)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        items = torch.randint(len(self.offsets), (batch_size,), generator=generator)  # as ItemBatches
        return self.pack(items.numpy())

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        order = np.argsort(self.inputs_per_item, kind="stable")
        for start in range(0, len(order), batch_size):
            yield self.pack(order[start : start + batch_size])

    @property
    def num_targets(self) -> int:
        return int(self.inputs_per_item.sum())

    def epoch_steps(self, batch_size: int) -> int:
        return math.ceil(len(self.offsets) / batch_size)  # an example is a whole item
