"""When a loss has run away: the rule the training loop stops by and the diagnostics
report by.

A step's loss may spike; training has diverged when the loss stays above
EXPLODE_FACTOR times the first loss on average over EXPLODE_STEPS steps (or stops being
a number). ``LossGuard`` is the loop's own check, so that no choice of callbacks can
leave a run training on noise.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

from charloom.errors import TrainingDiverged

EXPLODE_FACTOR = 3.0  # loss above this many times the initial loss ...
EXPLODE_STEPS = 50  # ... on average over this many steps: stop


def exploded(recent: Sequence[float], initial: float) -> bool:
    return sum(recent) / len(recent) > EXPLODE_FACTOR * initial


def exploded_message(mean: float, initial: float, step: int) -> str:
    return (
        f"the loss exploded: {mean:.3f} on average over the last {EXPLODE_STEPS} steps to step {step}, "
        f"over {EXPLODE_FACTOR:g}x the initial {initial:.3f}. Cause: the learning rate is too high for "
        "this model (or the gradients blew up). Fix: stop, keep the last good checkpoint, and resume "
        "or restart with a lower --lr."
    )


class LossGuard:
    """Watches every step's loss against the first one's; raises ``TrainingDiverged``."""

    def __init__(self, initial: float | None = None):
        self.initial = initial
        self.recent: deque[float] = deque(maxlen=EXPLODE_STEPS)

    def observe(self, step: int, loss: float, where: Callable[[], str], lr: float) -> None:
        """``step`` is 0-based; ``where()`` names the kept checkpoint in the message (a
        function, so that the loop finds it only when a message needs it)."""
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss} at step {step + 1}; {where()} is kept; lower --lr (now {lr:g})"
            )
        if self.initial is None:
            self.initial = loss
        self.recent.append(loss)
        if len(self.recent) == EXPLODE_STEPS and exploded(self.recent, self.initial):
            mean = sum(self.recent) / len(self.recent)
            raise TrainingDiverged(f"{exploded_message(mean, self.initial, step)} {where()} is kept.")
