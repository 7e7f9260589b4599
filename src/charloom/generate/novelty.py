"""Nearest-neighbour edit distance to a set of items, fast on 100k items.

Novelty of a generated name = the Levenshtein distance to the closest training item. By
brute force that is one dynamic programme per training item per query; here a query
costs a set lookup, a few hundred more for distance 1, and otherwise a vectorised
dynamic programme over the few items that two lower bounds cannot rule out:

1. distance 0: the query is in the set;
2. distance 1: some string one edit away from the query (over the items' alphabet) is
   in the set;
3. otherwise, for k = 2, 3, 4, ...: the items with ed(q, x) <= k all satisfy

       |len(x) - len(q)| <= k                      (each edit changes the length by <= 1)
       max(len(x), len(q)) - common(x, q) <= k     (common: characters shared, as multisets;
                                                    matched positions are shared characters)

   so the dynamic programme runs on those only, and drops an item as soon as its best
   path must cost more than k; if some item ends within k, the smallest such distance
   is the answer (every item left out is further than k), else k grows by one.

The dynamic programme runs on all candidates at once, one query character per step,
with the insertion recurrence written as a running minimum so that no Python loop runs
over item characters:

    D[i][j] = min(D[i-1][j-1] + [q_i != x_j], D[i-1][j] + 1, D[i][j-1] + 1)
            = j + cummin_j'<=j (min(D[i-1][j'-1] + [q_i != x_j'], D[i-1][j'] + 1) - j')
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def levenshtein(a: str, b: str) -> int:
    """Plain edit distance (insert, delete, substitute: cost 1), for reference and tests."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j - 1] + (ca != cb), previous[j] + 1, current[j - 1] + 1))
        previous = current
    return previous[-1]


class NoveltyIndex:
    """Edit distance from any string to the nearest of ``items``.

    >>> index = NoveltyIndex(["anna", "emma", "olivia"])
    >>> index.distance("anna"), index.distance("hanna"), index.distance("emily")
    (0, 1, 3)
    """

    def __init__(self, items: Iterable[str]):
        unique = sorted(set(items), key=len)
        if not unique:
            raise ValueError("a novelty index needs at least one item")
        self.items = unique
        self._set = set(unique)
        self.alphabet = sorted(set("".join(unique)))
        self._code = {ch: i + 1 for i, ch in enumerate(self.alphabet)}  # 0: a character no item has
        self.lengths = np.array([len(item) for item in unique], dtype=np.int16)
        width = int(self.lengths.max())
        # every character of every item, as codes: one array op instead of a loop per item
        points = np.frombuffer("".join(unique).encode("utf-32-le"), dtype=np.uint32)
        flat = np.searchsorted(np.array([ord(ch) for ch in self.alphabet], dtype=np.uint32), points) + 1
        row = np.repeat(np.arange(len(unique)), self.lengths)
        starts = np.cumsum(self.lengths, dtype=np.int64) - self.lengths
        column = np.arange(len(flat)) - np.repeat(starts, self.lengths)
        self._codes = np.full((len(unique), max(width, 1)), -1, dtype=np.int16)  # -1: past the end
        self._codes[row, column] = flat
        # _counts[c, row]: how often character c occurs in item row (one row per character:
        # a query reads only the rows of its own characters, each contiguous)
        size = (len(self.alphabet) + 1) * len(unique)
        self._counts = np.bincount(flat * len(unique) + row, minlength=size).astype(np.int16)
        self._counts = self._counts.reshape(len(self.alphabet) + 1, len(unique))
        self._cache: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def distance(self, query: str) -> int:
        """Edit distance from ``query`` to the nearest item."""
        found = self._cache.get(query)
        if found is None:
            found = self._cache[query] = self._search(query)
        return found

    def distances(self, queries: Iterable[str]) -> list[int]:
        return [self.distance(q) for q in queries]

    def _search(self, query: str) -> int:
        if query in self._set:
            return 0
        if any(neighbour in self._set for neighbour in self._neighbours(query)):
            return 1
        m = len(query)
        codes = np.array([self._code.get(ch, 0) for ch in query], dtype=np.int16)
        wanted = np.bincount(codes, minlength=self._counts.shape[0])
        common = np.zeros(len(self.items), dtype=np.int16)  # int16 throughout: no casts
        for c in np.flatnonzero(wanted[1:]) + 1:
            common += np.minimum(self._counts[c], np.int16(wanted[c]))
        bound = np.maximum(self.lengths, np.int16(m)) - common  # <= ed(query, item); >= |len - m|
        k = 2
        while True:
            rows = np.flatnonzero(bound <= k)
            if len(rows):
                best = self._closest(codes, rows, k)
                if best <= k:
                    return best
            k += 1

    def _neighbours(self, query: str) -> Iterable[str]:
        """Every string one edit away, over the items' alphabet."""
        for i in range(len(query) + 1):
            head, tail = query[:i], query[i:]
            if tail:
                yield head + tail[1:]
            for ch in self.alphabet:
                yield head + ch + tail
                if tail and ch != tail[0]:
                    yield head + ch + tail[1:]

    def _closest(self, query: np.ndarray, rows: np.ndarray, k: int) -> int:
        """min ed(query, item) over ``rows`` if it is <= k, else some number > k.

        Rows leave as soon as they cannot end within k: a path through cell (i, j) costs at
        least D[i][j] + |(m - i) - (len - j)| (the lengths left differ by that much)."""
        m = len(query)
        lengths = self.lengths[rows]
        width = int(lengths.max())
        items = self._codes[rows, :width]  # (C, W)
        columns = np.arange(width + 1)
        previous = np.broadcast_to(columns, (len(rows), width + 1))  # D[0][j] = j
        for i, q in enumerate(query, 1):
            best = np.minimum(previous[:, :-1] + (items != q), previous[:, 1:] + 1)  # (C, W): j = 1..W
            shifted = np.concatenate([np.full((len(rows), 1), i), best], axis=1) - columns
            previous = np.minimum.accumulate(shifted, axis=1) + columns  # D[i][0..W]
            left = np.abs((m - i) - (lengths[:, None] - columns))  # (C, W + 1)
            alive = (previous + left).min(axis=1) <= k
            if not alive.all():
                if not alive.any():
                    return k + 1
                previous, items, lengths, rows = previous[alive], items[alive], lengths[alive], rows[alive]
        return int(previous[np.arange(len(rows)), lengths].min())
