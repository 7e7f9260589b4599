"""The model's next-character distribution after a given text, for looking at it by hand
(``charloom play``): what the sampler draws from, before any draw."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.models.base import CharModel
from charloom.models.context import check_fits

END = ""  # the end of an item in a listing: the boundary, which has no character


@torch.no_grad()
def next_chars(
    model: CharModel,
    vocab: Vocab,
    prefix: str,
    *,
    temperature: float = 1.0,
    top: int = 10,
    hide: Iterable[str] = (),
) -> list[tuple[str, float]]:
    """The ``top`` most likely characters to follow ``prefix`` with their probabilities,
    softmax(logits / temperature) (temperature 0: all of it on the argmax), most likely
    first; ``END`` stands for the end of the item. Characters in ``hide`` (a conditional
    run's category tokens) are left out and the rest renormalised."""
    if temperature < 0:
        raise CharloomError(f"the temperature must be >= 0, got {temperature}")
    lines = vocab.boundary
    ids = vocab.encode(prefix, where="prefix")
    if not lines and not ids:
        raise CharloomError("a text model needs some text to continue: type its start")
    check_fits(model, len(prefix), "the prefix", lines)
    was_training = model.training
    model.eval()
    try:
        state = model.init_state(1)
        for token in [BOUNDARY_ID, *ids] if lines else ids:
            logits, state = model(torch.tensor([[token]], device=model.device), state)
    finally:
        model.train(was_training)
    logits = logits[0, -1].float()
    hidden = [vocab.encode(ch)[0] for ch in hide if ch in vocab]
    logits[hidden] = float("-inf")
    if temperature == 0:
        probs = F.one_hot(logits.argmax(), logits.shape[0]).float()
    else:
        probs = F.softmax(logits / temperature, dim=-1)
    values, order = torch.topk(probs, min(top, int(torch.isfinite(logits).sum())))
    return [
        (END if lines and token == BOUNDARY_ID else vocab.decode([token]), value)
        for token, value in zip(order.tolist(), values.tolist(), strict=True)
    ]
