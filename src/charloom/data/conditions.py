"""Conditional runs: one model for several categories, told which one by a token.

Each category gets a token of its own, a character from Unicode's private-use area
(U+E000 + its number) that no real name holds. A conditional run's items are stored
with their category token in front, so that every item reads

    [boundary, category, c1, ..., cn, boundary]

and the model learns p(c1 ... cn | category). The tokens are ordinary vocabulary
entries, so every family (window models through their window, recurrent models through
their state, transformers through attention) conditions on them with no change to the
model interface, the trainer, checkpoints or the sampler: generating for a category is
continuing the prefix of its token. A window model sees the category only while it is
inside its window (the first ``context_size - 1`` characters); the other families see
it throughout. The token follows the boundary rather than replacing it, so the model
also learns how often each category occurs; the judge (``judge.likelihood``) reads the
token as context and does not score it, so likelihoods are p(x | category).

A conditional run's run.json holds ``"condition": {"kind": "category", "categories": [...]}``.
"""

from __future__ import annotations

from charloom.errors import CharloomError

TOKEN_BASE = 0xE000


def category_token(number: int) -> str:
    return chr(TOKEN_BASE + number)


def tag(category_number: int, item: str) -> str:
    """An item as a conditional run stores it: its category token, then the item."""
    return category_token(category_number) + item


def categories_of(info: dict) -> list[str]:
    """The categories of a conditional run's run.json; [] for an ordinary run."""
    condition = info.get("condition") or {}
    return list(condition.get("categories", []))


def token_for(info: dict, category: str | None) -> str:
    """The token that conditions a run on ``category``; '' for an ordinary run given none."""
    categories = categories_of(info)
    if not categories:
        if category is not None:
            raise CharloomError(
                f"this run was not trained with --condition category, so --category "
                f"{category!r} means nothing to it; drop --category"
            )
        return ""
    if category is None:
        raise CharloomError(
            f"this run is conditioned on a category: give --category, one of {', '.join(categories)}"
        )
    if category not in categories:
        raise CharloomError(f"the run has no category {category!r}; it has: {', '.join(categories)}")
    return category_token(categories.index(category))


__all__ = ["TOKEN_BASE", "categories_of", "category_token", "tag", "token_for"]
