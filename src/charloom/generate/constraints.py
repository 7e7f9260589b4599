"""Constraints on generated items, and how each one is enforced.

Enforced in the distribution, so that every draw satisfies them and none is wasted:

- ``starts_with``: a forced prefix (merged with ``--prefix``);
- ``alphabet``: the other characters are masked;
- ``min_len``: the boundary is masked until the item is that long;
- ``max_len``: at that length only the boundary is allowed;
- ``ends_with``, ``contains``: a finite automaton follows the item as it grows (one
  Knuth-Morris-Pratt automaton per pattern, run side by side as one product automaton);
  the boundary is allowed only in states where every pattern is satisfied.

All of them become one table, ``allow[L, s, v]``: may token v follow an item of length L
whose automaton is in state s? A token is allowed only if the constraints can still be
met afterwards within the remaining length (computed backwards over lengths, as in
dynamic programming), so a row never paints itself into a corner and never has to be
discarded. During decoding the mask is one gather: ``allow[t][state]``.

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

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError

MAX_TABLE = 50_000_000  # entries of the allow table; beyond this the constraints are refused


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

    def __post_init__(self):
        contains = (self.contains,) if isinstance(self.contains, str) else tuple(self.contains or ())
        object.__setattr__(self, "contains", tuple(c for c in contains if c))
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
class TokenMask:
    """The constraints as tensors: ``allow[L, s, v]`` and the automaton ``trans[s, v]``."""

    allow: torch.Tensor  # (H + 1, S, V) bool
    trans: torch.Tensor  # (S, V) long; the boundary column is unused

    @property
    def horizon(self) -> int:
        """The longest item the mask lets through (characters)."""
        return self.allow.shape[0] - 1

    def allowed(self, length: int, states: torch.Tensor) -> torch.Tensor:
        """Which tokens may follow items of ``length`` characters in ``states``: (b, V) bool."""
        return self.allow[min(length, self.horizon)][states]

    def advance(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.trans[states, tokens]


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
        )


def merge_prefix(prefix: str, starts_with: str) -> str:
    """``--prefix`` and ``--starts-with`` both force the start: the longer wins if they agree."""
    if starts_with.startswith(prefix):
        return starts_with
    if prefix.startswith(starts_with):
        return prefix
    raise CharloomError(f"--prefix {prefix!r} and --starts-with {starts_with!r} disagree; give only one")


def pattern_automaton(pattern: list[int], vocab_size: int, absorbing: bool) -> np.ndarray:
    """Knuth-Morris-Pratt as a DFA: state j = the longest prefix of ``pattern`` that the
    text read so far ends with. ``absorbing``: once matched, stay matched (for contains)."""
    m = len(pattern)
    dfa = np.zeros((m + 1, vocab_size), dtype=np.int64)
    dfa[0, pattern[0]] = 1
    border = 0  # state after reading pattern[1:j]: where a mismatch at j falls back to
    for j in range(1, m + 1):
        dfa[j] = dfa[border]
        if j < m:
            dfa[j, pattern[j]] = j + 1
            border = dfa[border, pattern[j]]
    if absorbing:
        dfa[m] = m
    return dfa


def product_automaton(parts: list[np.ndarray], vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Run automata side by side: product state = mixed-radix number of the part states.
    Returns trans[S, V] and accept[S] (every part in its last state)."""
    if not parts:
        return torch.zeros(1, vocab_size, dtype=torch.long), torch.ones(1, dtype=torch.bool)
    sizes = [len(part) for part in parts]
    count = math.prod(sizes)
    states = np.indices(sizes).reshape(len(sizes), count)  # (parts, S): each part's state
    strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]
    trans = sum(part[states[i]] * strides[i] for i, part in enumerate(parts))  # (S, V)
    accept = np.all([states[i] == size - 1 for i, size in enumerate(sizes)], axis=0)
    return torch.from_numpy(np.asarray(trans)), torch.from_numpy(accept)


def feasibility_mask(
    trans: torch.Tensor, accept: torch.Tensor, char_ok: torch.Tensor, min_len: int, horizon: int
) -> TokenMask:
    """``allow[L, s, v]``: v may follow (length L, state s) only if a valid ending stays
    reachable. With reach[k, s] = 'from s, exactly k more characters can end accepted':

        reach[0] = accept;   reach[k][s] = any_v char_ok[v] and reach[k-1][trans[s, v]]
        ok[L][s] = any k with min_len <= L + k <= horizon of reach[k][s]
        allow[L, s, v] = char_ok[v] and ok[L+1][trans[s, v]];  allow[L, s, 0] = accept[s], L >= min_len
    """
    S, V = trans.shape
    H = horizon
    if (H + 1) * S * V > MAX_TABLE:
        raise CharloomError(
            f"these constraints need a table of {(H + 1) * S * V:,} entries; use fewer or "
            "shorter --contains/--ends-with patterns, or a smaller --max-len"
        )
    reach = torch.zeros(H + 1, S, dtype=torch.bool)
    reach[0] = accept
    for k in range(1, H + 1):
        reach[k] = (reach[k - 1][trans] & char_ok).any(dim=1)
    ok = torch.zeros(H + 2, S, dtype=torch.bool)  # ok[H + 1]: too long, never
    for length in range(H + 1):
        low, high = max(0, min_len - length), H - length
        if low <= high:
            ok[length] = reach[low : high + 1].any(dim=0)
    allow = ok[1:][:, trans] & char_ok  # (H + 1, S, V)
    lengths = torch.arange(H + 1)
    allow[:, :, BOUNDARY_ID] = accept[None, :] & (lengths >= min_len)[:, None]
    return TokenMask(allow, trans)


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
    if not lines:
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
    lengths_or_alphabet = c.alphabet is not None or min_len > 0 or c.max_len is not None
    if lengths_or_alphabet:
        trans, accept = product_automaton([], V)
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
    trans, accept = product_automaton(parts, V)
    compiled.mask = checked(
        feasibility_mask(trans, accept, char_ok, min_len, horizon), forced_ids, describe(c, forced, horizon)
    )
    compiled.patterns = True
    return compiled


def checked(mask: TokenMask, forced_ids: list[int], described: str) -> TokenMask:
    """The mask, once it is clear that the forced prefix can be completed under it."""
    state = torch.zeros(1, dtype=torch.long)
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
    return ", ".join(parts)
