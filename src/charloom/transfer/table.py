"""The transfer table: for each name and cut, the seed and each generator's completions.

    name          seed     italian               turkish             english
    derek vroom   derek    derek vrona (0.91)    derek vrolu (0.84)  derek vroome (0.88)

Numbers are the classifier's probability that the completion belongs to the column's
category (the generator's own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from charloom.transfer.complete import Completion, complete, cut_seed, prepare_seed


@dataclass
class Row:
    name: str
    cut: float
    seed: str
    cells: dict[str, list[Completion]] = field(default_factory=dict)

    def to_json(self) -> dict:
        cells = {category: [asdict(c) for c in done] for category, done in self.cells.items()}
        return {"name": self.name, "cut": self.cut, "seed": self.seed, "cells": cells}


def transfer_table(
    group,
    names: list[str],
    cuts: list[float],
    *,
    samples: int = 1,
    best_of: int | None = None,
    temperature: float = 1.0,
    categories: list[str] | None = None,
    seed: int = 0,
) -> list[Row]:
    """One row per (name, cut), one cell per generator category; each completion the best
    of ``best_of`` draws by the likelihood-ratio judge (None: one draw).

    >>> rows = transfer_table(load_group("runs/langs"), ["derek vroom"], [0.5])   # doctest: +SKIP
    """
    keep = bool(group.info.get("keep_accents"))
    columns = categories or group.categories
    for category in columns:
        group.check_category(category)
    rows = []
    for number, raw in enumerate(names):
        name = prepare_seed(raw, keep)
        for cut in cuts:
            prefix = cut_seed(name, cut)
            row = Row(name, cut, prefix)
            for category in columns:
                row.cells[category] = complete(
                    group,
                    category,
                    prefix,
                    samples,
                    best_of=best_of or 1,
                    temperature=temperature,
                    rng_seed=seed + number,
                )
            rows.append(row)
    return rows


__all__ = ["Row", "transfer_table"]
