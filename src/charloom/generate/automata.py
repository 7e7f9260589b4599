"""Finite automata over tokens, and the mask that keeps every row able to finish.

An item is read one token at a time by a deterministic automaton ``trans[s, v]``; a
constraint is a set of accepting states. Three kinds of automaton cover what can be masked:

- ``pattern_automaton``: Knuth-Morris-Pratt for one pattern (``--contains`` absorbs once
  matched, ``--ends-with`` does not);
- ``bad_words_automaton``: Aho-Corasick for many patterns at once (``--bad-words``); a state
  where any of them has just been read is dead: absorbing and never accepting;
- ``product_automaton``: several run side by side, accepting when every part accepts.

``feasibility_mask`` turns an automaton into ``allow[L, s, v]``, the tokens that may follow
an item of length L in state s with an accepting end still reachable in the length left.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from charloom.data.vocab import BOUNDARY_ID
from charloom.errors import CharloomError

MAX_TABLE = 50_000_000  # entries of the allow table; beyond this the constraints are refused

Automaton = tuple[np.ndarray, np.ndarray]  # trans[S, V] (int64) and accept[S] (bool)


@dataclass
class TokenMask:
    """The constraints as tensors: ``allow[L, s, v]`` and the automaton ``trans[s, v]``.
    ``initial`` is the state rows start in (text mode: after reading the start character)."""

    allow: torch.Tensor  # (H + 1, S, V) bool
    trans: torch.Tensor  # (S, V) long; in line mode the boundary column is unused
    initial: int = 0

    @property
    def horizon(self) -> int:
        """The longest item the mask lets through (characters)."""
        return self.allow.shape[0] - 1

    def allowed(self, length: int, states: torch.Tensor) -> torch.Tensor:
        """Which tokens may follow items of ``length`` characters in ``states``: (b, V) bool."""
        return self.allow[min(length, self.horizon)][states]

    def advance(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.trans[states, tokens]

    def to(self, device: torch.device) -> TokenMask:
        """The mask on ``device`` (itself when it is there already): moved once a batch."""
        if self.allow.device == device:
            return self
        return TokenMask(self.allow.to(device), self.trans.to(device), self.initial)


def pattern_automaton(pattern: list[int], vocab_size: int, absorbing: bool) -> Automaton:
    """Knuth-Morris-Pratt as a DFA: state j = the longest prefix of ``pattern`` that the
    text read so far ends with; it accepts in state m (the whole pattern). ``absorbing``:
    once matched, stay matched (for contains)."""
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
    return dfa, np.arange(m + 1) == m


def bad_words_automaton(words: list[list[int]], vocab_size: int) -> Automaton:
    """Aho-Corasick as a DFA: states are the prefixes of the words (a trie); reading v from
    s goes to the longest trie prefix that the text read so far ends with. A state whose
    prefix ends with a whole word (itself or through its failure links) is dead."""
    children: list[dict[int, int]] = [{}]
    dead = [False]
    for word in words:
        state = 0
        for token in word:
            if token not in children[state]:
                children[state][token] = len(children)
                children.append({})
                dead.append(False)
            state = children[state][token]
        dead[state] = True
    dfa = np.zeros((len(children), vocab_size), dtype=np.int64)
    failure = [0] * len(children)
    queue = deque()
    for token, child in children[0].items():
        dfa[0, token] = child
        queue.append(child)
    while queue:  # breadth first: a state's failure link is shallower, so already done
        state = queue.popleft()
        dead[state] = dead[state] or dead[failure[state]]
        dfa[state] = dfa[failure[state]]
        for token, child in children[state].items():
            failure[child] = int(dfa[failure[state], token])
            dfa[state, token] = child
            queue.append(child)
    alive = ~np.array(dead)
    dfa[~alive] = np.nonzero(~alive)[0][:, None]  # once a word is written, no way back
    return dfa, alive


def product_automaton(parts: list[Automaton], vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Run automata side by side: product state = mixed-radix number of the part states.
    Returns trans[S, V] and accept[S] (every part accepting)."""
    if not parts:
        return torch.zeros(1, vocab_size, dtype=torch.long), torch.ones(1, dtype=torch.bool)
    sizes = [len(trans) for trans, _ in parts]
    count = math.prod(sizes)
    states = np.indices(sizes).reshape(len(sizes), count)  # (parts, S): each part's state
    strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]
    trans = sum(part[states[i]] * strides[i] for i, (part, _) in enumerate(parts))  # (S, V)
    accept = np.all([accepting[states[i]] for i, (_, accepting) in enumerate(parts)], axis=0)
    return torch.from_numpy(np.asarray(trans)), torch.from_numpy(accept)


def feasibility_mask(
    trans: torch.Tensor,
    accept: torch.Tensor,
    char_ok: torch.Tensor,
    min_len: int,
    horizon: int,
    ends: bool = True,
) -> TokenMask:
    """``allow[L, s, v]``: v may follow (length L, state s) only if a valid ending stays
    reachable. With reach[k, s] = 'from s, exactly k more characters can end accepted':

        reach[0] = accept;   reach[k][s] = any_v char_ok[v] and reach[k-1][trans[s, v]]
        ok[L][s] = any k with min_len <= L + k <= horizon of reach[k][s]
        allow[L, s, v] = char_ok[v] and ok[L+1][trans[s, v]];  allow[L, s, 0] = accept[s], L >= min_len

    ``ends``: items end with the boundary (line mode). Running text has no boundary: rows
    write exactly ``horizon`` characters (``min_len == horizon``) and token 0 is a character.
    """
    S, V = trans.shape
    H = horizon
    if (H + 1) * S * V > MAX_TABLE:
        raise CharloomError(
            f"these constraints need a table of {(H + 1) * S * V:,} entries; use fewer or "
            "shorter --contains/--ends-with/--bad-words patterns, or a smaller --max-len"
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
    if ends:
        lengths = torch.arange(H + 1)
        allow[:, :, BOUNDARY_ID] = accept[None, :] & (lengths >= min_len)[:, None]
    return TokenMask(allow, trans)
