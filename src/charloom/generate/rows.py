"""Which rows a decoding batch still computes, and when the others leave it.

Two savings live here, so that the decoding loop reads as the maths:

- **A shared start.** Every row starts from the same token, and a common prefix forces
  the same tokens into every row, so up to the first free draw all rows share one state:
  they run as one row, branched B ways after that step (names: 1 step in 7 is computed
  once, not B times).
- **Finished rows leave.** A row that emits the boundary is done. Dropping rows moves
  every layer's cache, so finished rows wait in the batch (computed with the rest, their
  draws thrown away) until they are ``LAZY_DROP`` of it, then leave together. Under a
  constraint mask they leave at once, since a finished row's automaton may allow no
  token at all.
"""

from __future__ import annotations

import torch

LAZY_DROP = 0.25  # finished share of the batch at which its rows are dropped (no mask)


def shared_steps(forced_tokens: torch.Tensor | None, forced_shared: int) -> int:
    """How many first steps every row computes alike: the start, and a prefix forced into
    every row with the same tokens."""
    if forced_tokens is None or not forced_shared:
        return 1
    common = forced_tokens[:, :forced_shared]
    return 1 + (forced_shared if bool((common == common[:1]).all()) else 0)


class Rows:
    """The rows of a batch being decoded: which output row each batch row is, which have
    finished, and which still go."""

    def __init__(self, batch_size: int, leave_at_once: bool, device: torch.device | str = "cpu"):
        self.index = torch.arange(batch_size, device=device)  # output row of each batch row
        self.finished = torch.zeros(batch_size, dtype=torch.bool, device=device)  # by output row
        self.live: torch.Tensor | None = None  # while finished rows wait: which batch rows go on
        self.leave_at_once = leave_at_once

    @property
    def going(self) -> torch.Tensor | slice:
        """The batch rows whose draws count."""
        return slice(None) if self.live is None else self.live

    def end(self, done: torch.Tensor) -> torch.Tensor | None:
        """Rows ``done`` (a (b,) bool over the batch) have finished. Returns the batch rows to
        keep when it is time for the finished ones to leave (ascending), else None; the
        caller drops the rest from everything it holds per row. An empty result: all done."""
        if self.live is not None:
            done = done & self.live
        if not bool(done.any()):
            return None
        self.finished[self.index[done]] = True
        self.live = ~done if self.live is None else self.live & ~done
        kept = int(self.live.sum())
        if kept and not self.leave_at_once and kept > (1 - LAZY_DROP) * len(self.live):
            return None
        keep = self.live.nonzero().squeeze(1)
        self.index, self.live = self.index[keep], None
        return keep

    @property
    def all_done(self) -> bool:
        return len(self.index) == 0
