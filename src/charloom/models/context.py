"""What "longer than the context" means, one rule for every family.

A line-mode model with a bounded context that trains on whole items (the transformer:
``sequence`` or ``packed`` layout, learned absolute positions) reads an item as the boundary followed
by its characters, so an item or a prefix of ``n`` characters needs ``n + 1 <=
block_size`` positions. Anything longer could never be read the way training read it,
so it is refused. Window models (n-gram, MLP, WaveNet) and any model on running text
train on sliding windows, so a long input is windowed just as in training; recurrent
models have no limit. Neither is an error.
"""

from __future__ import annotations

from charloom.data.batches import Layout
from charloom.errors import CharloomError
from charloom.models.base import CharModel


def item_limit(model: CharModel, lines: bool) -> int | None:
    """The most characters an item or prefix may have, or None for no limit."""
    if not lines or model.training_layout is Layout.WINDOW or model.context_size is None:
        return None
    return model.context_size - 1


def check_fits(model: CharModel, length: int, what: str, lines: bool) -> None:
    """Refuse an item or prefix of ``length`` characters that the model cannot read whole."""
    limit = item_limit(model, lines)
    if limit is not None and length > limit:
        raise CharloomError(
            f"{what} is {length} characters long, but this {model.family} reads at most {limit} "
            f"per item (block_size {model.context_size} with the boundary); shorten it or train "
            f"with --block-size {length + 1} or more"
        )
