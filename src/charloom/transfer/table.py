"""The transfer table: for each name and cut, its start and each generator's completions.

    name          start    italian               turkish             english
    derek vroom   derek    derek vrona (0.91)    derek vrolu (0.84)  derek vroome (0.88)

Numbers are the classifier's probability that the completion belongs to the column's
category (the generator's own). A group with a pooled generator adds its column, ``all``,
as the blog's all-categories column: each completion with the category it is filed under.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from charloom.errors import CharloomError
from charloom.transfer.complete import (
    POOLED_COLUMN,
    Completion,
    complete,
    complete_pooled,
    cut_start,
    prepare_name,
)


@dataclass
class Row:
    name: str
    cut: str
    start: str
    cells: dict[str, list[Completion]] = field(default_factory=dict)

    def to_json(self) -> dict:
        cells = {category: [asdict(c) for c in done] for category, done in self.cells.items()}
        return {"name": self.name, "cut": self.cut, "start": self.start, "cells": cells}


def transfer_table(
    group,
    names: list[str],
    cuts: list[str],
    *,
    samples: int = 1,
    best_of: int | None = None,
    temperature: float = 1.0,
    contrast: float = 0.0,
    categories: list[str] | None = None,
    seed: int = 0,
) -> list[Row]:
    """One row per (name, cut), one cell per generator category (and the pooled one, when
    the group has it and no ``categories`` are picked); each completion the best of
    ``best_of`` draws by the likelihood-ratio judge (None: one draw). A cut that does not
    apply to a name (the first word of a one-word name) keeps the name whole.

    >>> rows = transfer_table(load_group("runs/langs"), ["derek vroom"], [0.5])   # doctest: +SKIP
    """
    if samples < 1 or (best_of is not None and best_of < 1):
        raise CharloomError(f"--samples and --best-of must be at least 1, got {samples} and {best_of}")
    keep = bool(group.info.get("keep_accents"))
    columns = categories or group.categories
    for category in columns:
        group.check_category(category)
    rows = []
    for number, raw in enumerate(names):
        name = prepare_name(raw, keep)
        for cut in cuts:
            prefix = cut_start(name, cut) or name
            row = Row(name, str(cut), prefix)
            drawing = {"best_of": best_of or 1, "temperature": temperature, "seed": seed + number}
            for category in columns:
                row.cells[category] = complete(group, category, prefix, samples, contrast=contrast, **drawing)
            if categories is None and group.pooled is not None:
                row.cells[POOLED_COLUMN] = complete_pooled(group, prefix, samples, **drawing)
            rows.append(row)
    return rows


__all__ = ["Row", "transfer_table"]
