"""Constraints on generated items, and how each one is enforced.

Enforced in the distribution, so that every draw satisfies them and none is wasted:

- ``starts_with``: a forced prefix (merged with ``--prefix``);
- ``alphabet``: the other characters are masked;
- ``min_len``: the boundary is masked until the item is that long;
- ``max_len``: at that length only the boundary is allowed;
- ``ends_with``, ``contains``: a finite automaton follows the item as it grows (one
  Knuth-Morris-Pratt automaton per pattern, run side by side as one product automaton);
  the boundary is allowed only in states where every pattern is satisfied;
- ``bad_words``: substrings that may never appear (one Aho-Corasick automaton for all of
  them, beside the others; in running text too): no token may lead into a state where one
  of them has been written.

All of them become one table (``automata.py`` builds it), ``allow[L, s, v]``: may token v
follow an item of length L whose automaton is in state s? A token is allowed only if the
constraints can still be met afterwards within the remaining length (computed backwards
over lengths, as in dynamic programming), so a row never paints itself into a corner and
never has to be discarded. During decoding the mask is one gather: ``allow[t][state]``.

What cannot be a mask is checked on finished items, and ``search.draw`` resamples until
enough pass or a budget of attempts is spent: ``regex`` (``re.search``; anchor it with
``^...$`` to match the whole item), ``not_in_train`` (not in the training split), ``new``
(in no split of the data: not train, val or test), ``exclude``, ``unique``.

Masking samples from the model's distribution renormalised at each step over the allowed
tokens. That is not exactly the model's distribution conditioned on the constraints, which
rejection sampling gives at the price of wasted draws; the difference shows with patterns:
a row that has not yet written the pattern may not end, and a weak model can wander long
before it does. So the patterns have a second, ``relaxed`` mask without them, and
``search.draw`` meets them by rejection while that is affordable, by the automaton after.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.generate.automata import (
    Automaton,
    TokenMask,
    bad_words_automaton,
    feasibility_mask,
    pattern_automaton,
    product_automaton,
)


@dataclass(frozen=True)
class Constraints:
    """What every returned item must satisfy. Lengths count characters (no boundary)."""

    starts_with: str = ""
    ends_with: str = ""
    contains: tuple[str, ...] = ()
    regex: str | None = None
    min_len: int | None = None
    max_len: int | None = None
    alphabet: str | None = None
    not_in_train: bool = False
    new: bool = False
    unique: bool = False
    exclude: frozenset[str] = field(default_factory=frozenset)
    bad_words: tuple[str, ...] = ()

    def __post_init__(self):
        contains = (self.contains,) if isinstance(self.contains, str) else tuple(self.contains or ())
        object.__setattr__(self, "contains", tuple(c for c in contains if c))
        bad_words = (self.bad_words,) if isinstance(self.bad_words, str) else tuple(self.bad_words or ())
        object.__setattr__(self, "bad_words", tuple(dict.fromkeys(w for w in bad_words if w)))
        object.__setattr__(self, "exclude", frozenset(self.exclude or ()))
        object.__setattr__(self, "starts_with", self.starts_with or "")
        object.__setattr__(self, "ends_with", self.ends_with or "")
        for name in ("min_len", "max_len"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise CharloomError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
        if self.min_len is not None and self.max_len is not None and self.min_len > self.max_len:
            raise CharloomError(f"--min-len ({self.min_len}) is above --max-len ({self.max_len}); swap them")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise CharloomError(
                    f"--regex {self.regex!r} is not a valid regular expression ({exc.msg}); fix it"
                ) from None

    LINE_ONLY = (
        "starts_with",
        "ends_with",
        "contains",
        "min_len",
        "max_len",
        "alphabet",
        "not_in_train",
        "new",
    )

    def check_format(self, lines: bool) -> None:
        """Item constraints need items: a text run takes only ``regex``, ``unique``, ``exclude``."""
        if lines:
            return
        for name in self.LINE_ONLY:
            if getattr(self, name) not in (None, "", (), False):
                raise CharloomError(
                    f"--{name.replace('_', '-')} applies to runs of items (one per line), "
                    "not running text; use --regex on text"
                )


@dataclass
class Compiled:
    """Constraints bound to a vocabulary, a prefix and a length horizon."""

    constraints: Constraints
    forced: str  # the text every item starts with
    forced_ids: list[int]
    mask: TokenMask | None  # everything maskable
    avoid: set[str]  # items of the data that --not-in-train or --new leave out
    relaxed: TokenMask | None = None  # lengths and alphabet only
    patterns: bool = False  # whether ``mask`` enforces ends_with / contains (``relaxed`` does not)
    _regex: re.Pattern | None = None

    def __post_init__(self):
        self._regex = re.compile(self.constraints.regex) if self.constraints.regex is not None else None

    @property
    def filters(self) -> bool:
        """Whether a finished item can still be rejected (so draws may be wasted)."""
        c = self.constraints
        return bool(c.regex is not None or c.not_in_train or c.new or c.exclude or c.unique)

    def accepts(self, text: str) -> bool:
        """Every constraint except ``unique`` (which depends on the other items)."""
        c = self.constraints
        return (
            text.startswith(self.forced)
            and text.endswith(c.ends_with)
            and all(part in text for part in c.contains)
            and (c.min_len is None or len(text) >= c.min_len)
            and (c.max_len is None or len(text) <= c.max_len)
            and (c.alphabet is None or set(text) <= set(c.alphabet))
            and (self._regex is None or self._regex.search(text) is not None)
            and text not in self.avoid
            and text not in c.exclude
            and not any(word in text for word in c.bad_words)
        )


def merge_prefix(prefix: str, starts_with: str) -> str:
    """``--prefix`` and ``--starts-with`` both force the start: the longer wins if they agree."""
    if starts_with.startswith(prefix):
        return starts_with
    if prefix.startswith(starts_with):
        return prefix
    raise CharloomError(f"--prefix {prefix!r} and --starts-with {starts_with!r} disagree; give only one")


def compile_constraints(
    constraints: Constraints,
    vocab: Vocab,
    *,
    prefix: str = "",
    max_new_tokens: int = 100,
    min_new_tokens: int = 0,
    train_set: Iterable[str] = (),
    held_out: Iterable[str] = (),
    natural_max_len: int | None = None,
) -> Compiled:
    """Bind constraints to a vocabulary. Items are at most ``len(forced) + max_new_tokens - 1``
    characters (the end boundary is a new token too) and at least ``len(forced) +
    min_new_tokens``. Raises ``CharloomError`` when no item can satisfy the constraints.

    Two masks come out: ``mask`` enforces everything maskable; ``relaxed`` leaves out the
    patterns (``ends_with``, ``contains``), for drawing them by rejection while that is
    affordable. Under pattern masks without ``max_len``, items are kept to
    ``natural_max_len`` (the longest training item), or the automaton would let a row wander
    until it happens to write the pattern."""
    c = constraints
    lines = vocab.boundary
    c.check_format(lines)
    forced = merge_prefix(prefix, c.starts_with)
    forced_ids = vocab.encode(forced, where="prefix" if forced == prefix else "--starts-with")
    avoid = set(train_set) if c.not_in_train or c.new else set()
    if c.new:
        avoid |= set(held_out)
    compiled = Compiled(c, forced, forced_ids, None, avoid)
    banned = bad_words_part(c.bad_words, vocab, forced)
    if not lines:
        if banned is not None:
            compiled.mask = text_mask(banned, forced_ids, len(forced_ids) - 1 + max_new_tokens)
        return compiled
    V = vocab.size
    char_ok = torch.ones(V, dtype=torch.bool)
    char_ok[BOUNDARY_ID] = False
    if c.alphabet is not None:
        allowed = {vocab.encode(ch)[0] for ch in set(c.alphabet) if ch in vocab}
        if not allowed:
            raise CharloomError(
                f"--alphabet {c.alphabet!r} has no character the model knows; "
                f"choose from {''.join(vocab.chars)!r}"
            )
        char_ok[:] = False
        char_ok[sorted(allowed)] = True
    parts = []
    for flag, pattern, absorbing in [("--contains", p, True) for p in c.contains] + [
        ("--ends-with", c.ends_with, False)
    ] * bool(c.ends_with):
        ids = vocab.encode(pattern, where=flag)
        for token, ch in zip(ids, pattern, strict=True):
            if not char_ok[token]:
                raise CharloomError(
                    f"{flag} {pattern!r} uses {ch!r}, which --alphabet leaves out; add it to --alphabet"
                )
        parts.append(pattern_automaton(ids, V, absorbing))
    for token, ch in zip(forced_ids, forced, strict=True):
        if not char_ok[token]:
            raise CharloomError(f"the prefix {forced!r} uses {ch!r}, which --alphabet leaves out")
    min_len = max(c.min_len or 0, len(forced) + min_new_tokens)
    horizon = len(forced) + max_new_tokens - 1
    if c.max_len is not None:
        horizon = min(horizon, c.max_len)
    if horizon < len(forced):
        raise CharloomError(f"the prefix {forced!r} is longer than --max-len {c.max_len}; shorten it")
    always = [banned] if banned is not None else []  # enforced by the relaxed mask as well
    if always or c.alphabet is not None or min_len > 0 or c.max_len is not None:
        trans, accept = product_automaton(always, V)
        compiled.relaxed = checked(
            feasibility_mask(trans, accept, char_ok, min_len, horizon),
            forced_ids,
            describe(c, forced, horizon),
        )
    if not parts:
        compiled.mask = compiled.relaxed
        return compiled
    if c.max_len is None and natural_max_len is not None:
        room = len(forced) + sum(map(len, c.contains)) + len(c.ends_with)  # all patterns in a row fit
        horizon = min(horizon, max(natural_max_len, min_len, room))
    trans, accept = product_automaton(always + parts, V)
    compiled.mask = checked(
        feasibility_mask(trans, accept, char_ok, min_len, horizon), forced_ids, describe(c, forced, horizon)
    )
    compiled.patterns = True
    return compiled


def bad_words_part(words: tuple[str, ...], vocab: Vocab, forced: str) -> Automaton | None:
    """The automaton of ``--bad-words``; a word with a character the model never writes
    cannot appear and is left out."""
    writable = [word for word in words if all(ch in vocab for ch in word)]
    for word in writable:
        if word in forced:
            raise CharloomError(f"the prefix {forced!r} contains {word!r}, which --bad-words forbids")
    if not writable:
        return None
    return bad_words_automaton([vocab.encode(word) for word in writable], vocab.size)


def text_mask(banned: Automaton, forced_ids: list[int], horizon: int) -> TokenMask:
    """Running text under ``--bad-words``: rows write exactly ``horizon`` characters after
    the start character, which the automaton reads first."""
    trans, accept = product_automaton([banned], len(banned[0][0]))
    mask = feasibility_mask(
        trans, accept, torch.ones(trans.shape[1], dtype=torch.bool), horizon, horizon, ends=False
    )
    mask.initial = int(trans[0, forced_ids[0]])
    return checked(mask, forced_ids[1:], "no word of --bad-words")


def checked(mask: TokenMask, forced_ids: list[int], described: str) -> TokenMask:
    """The mask, once it is clear that the forced prefix can be completed under it."""
    state = torch.full((1,), mask.initial, dtype=torch.long)
    for length, token in enumerate(forced_ids):
        if not bool(mask.allowed(length, state)[0, token]):
            break
        state = mask.advance(state, torch.tensor([token]))
    else:
        if bool(mask.allowed(len(forced_ids), state).any()):
            return mask
    raise CharloomError(f"no item can satisfy these constraints ({described}); loosen them")


def describe(c: Constraints, forced: str, horizon: int) -> str:
    parts = [f"starts with {forced!r}"] if forced else []
    parts += [f"ends with {c.ends_with!r}"] if c.ends_with else []
    parts += [f"contains {p!r}" for p in c.contains]
    if c.min_len:
        parts.append(f"at least {c.min_len} characters")
    parts.append(f"at most {horizon} characters")
    if c.alphabet is not None:
        parts.append(f"only {''.join(sorted(set(c.alphabet)))!r}")
    if c.bad_words:
        parts.append("no word of --bad-words")
    return ", ".join(parts)
