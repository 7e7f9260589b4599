"""Running text read in order, for models that carry their state across windows.

char-rnn and torch-rnn train a recurrent network this way (truncated backpropagation
through time): the training text is cut into ``rows`` equal stretches, one per batch
row, and step k reads window k of every stretch,

    row r, window k:   inputs  text[r L + k T      : r L + (k + 1) T]
                       targets text[r L + k T + 1  : r L + (k + 1) T + 1]

with L = (N - 1) // rows characters per stretch and T the window. The state a row ends
window k with is where it starts window k + 1 (detached: the gradient stops at the
window's start, the state does not). After the last window of the stretches an epoch
is over and every row starts again from the initial state: each position of the
stretches is read once per epoch. Which window a step reads follows from the step
alone, so a resumed run reads on where it stopped.

For evaluation the whole split is one row, read window after window with the state
carried, which is the NLL of reading the text through in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from charloom.data.batches import Batch, TextBatches
from charloom.data.tokens import TokenFile
from charloom.errors import DataError


class StreamBatches(TextBatches):
    """``rows`` stretches of a text, read window by window (see the module's docstring).

    ``sample`` (a random window, as ``TextBatches``) stays for what wants any batch of
    the split (the diagnostics); training reads ``window(step)``."""

    carries_state = True

    def __init__(self, stream: torch.Tensor | TokenFile, block: int, rows: int = 1):
        stretch = (len(stream) - 1) // rows  # targets per row per epoch
        if stretch < 1:
            raise DataError(
                f"a text of {len(stream):,} characters cannot be read as {rows} rows; "
                "lower --batch-size or give more text"
            )
        super().__init__(stream, min(block, stretch))
        self.rows, self.stretch = rows, stretch

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.stretch / self.block)

    def epoch_steps(self, batch_size: int) -> int:
        return self.steps_per_epoch  # the rows are fixed when the stretches are cut

    def starts_epoch(self, step: int) -> bool:
        """Whether ``step`` reads the first window, where every row's state starts afresh."""
        return step % self.steps_per_epoch == 0

    def window(self, step: int) -> Batch:
        """Window ``step mod steps_per_epoch`` of every row: inputs and targets (rows, T);
        the last window of an epoch is shorter where the window does not divide L."""
        k = step % self.steps_per_epoch
        first, last = k * self.block, min((k + 1) * self.block, self.stretch)
        row_starts = torch.arange(self.rows) * self.stretch  # (rows,)
        index = row_starts[:, None] + torch.arange(first, last + 1)[None, :]  # (rows, T + 1)
        tokens = self.stream[index].long()
        return tokens[:, :-1], tokens[:, 1:]

    def chunks(self, batch_size: int) -> Iterator[Batch]:
        """The split as one row, window after window: every target once, in order, to be
        read with the state carried from each window into the next."""
        for start in range(0, len(self.stream) - 1, self.block):
            tokens = self.stream[start : start + self.block + 1].long()[None, :]  # (1, T + 1)
            yield tokens[:, :-1], tokens[:, 1:]

    @property
    def num_targets(self) -> int:
        return len(self.stream) - 1
