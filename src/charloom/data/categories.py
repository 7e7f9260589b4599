"""Categorized data: items grouped by category (names by language, say).

Three sources give the same thing, a mapping category -> items:

- an embedded categorized set (``names-by-country``, ``fullnames-by-country``);
- a file of ``category<TAB>item`` lines;
- a folder with one file per category, one item per line (the file stem is the category).

Accents are folded to a-z by default (``fold_accents``), so that every category shares
one alphabet and a seed from one language can be fed to another's model; with
``keep_accents`` an embedded set gives its accented variant and files are left as they are.

>>> data = load_categorized("names-by-country", categories=["italian", "turkish"])
>>> sorted(data), data["italian"][:2]                 # doctest: +SKIP
(['italian', 'turkish'], ['abbondanza', 'abbondio'])
"""

from __future__ import annotations

import re
from pathlib import Path

from charloom.data import datasets
from charloom.data.corpus import parse_lines, read_text_file
from charloom.data.folding import fold_accents
from charloom.errors import DataError

CATEGORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
Categorized = dict[str, list[str]]


def parse_categorized(text: str, source: str, fold: bool = True, dedup: bool = True) -> Categorized:
    """``category<TAB>item`` lines -> category -> items (in file order, duplicates dropped
    unless ``dedup`` is off)."""
    data: Categorized = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        category, tab, item = line.partition("\t")
        if not tab or not category.strip() or not item.strip():
            raise DataError(f"{source}: line {number} is not 'category<TAB>item': {line[:60]!r}")
        item = " ".join(item.split())
        data.setdefault(category.strip(), []).append(fold_accents(item) if fold else item)
    if not data:
        raise DataError(f"{source} has no items (it is empty or only whitespace)")
    return {category: list(dict.fromkeys(items)) if dedup else items for category, items in data.items()}


def read_folder(folder: Path, fold: bool = True, dedup: bool = True) -> Categorized:
    """One file per category; hidden files skipped."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"the folder {folder} has no files; put one file of items per category in it")
    data: Categorized = {}
    for path in files:
        items = parse_lines(read_text_file(path), str(path))
        items = [fold_accents(i) if fold else i for i in items]
        data[path.stem] = list(dict.fromkeys(items)) if dedup else items
    return data


def load_categorized(
    source: str | Path, keep_accents: bool = False, categories: list[str] | None = None, dedup: bool = True
) -> Categorized:
    """Category -> items from an embedded set, a TSV file or a folder; ``categories`` picks
    some of them (in the order given); ``dedup`` off keeps repeated items (to count them)."""
    source_text = str(source)
    path = Path(source_text)
    if datasets.is_dataset(source_text) and not path.exists():
        info = datasets.get_dataset(source_text)
        if info.format != "categorized":
            cats = ", ".join(d.name for d in datasets.list_datasets() if d.format == "categorized")
            raise DataError(f"the dataset {source_text!r} has no categories; use one of: {cats}")
        # the embedded files were folded (or not) when built: nothing more to do
        data = parse_categorized(
            datasets.dataset_text(source_text, keep_accents), source_text, fold=False, dedup=dedup
        )
    elif path.is_dir():
        data = read_folder(path, fold=not keep_accents, dedup=dedup)
    else:
        data = parse_categorized(read_text_file(path), source_text, fold=not keep_accents, dedup=dedup)
    if categories:
        unknown = [c for c in categories if c not in data]
        if unknown:
            raise DataError(f"{source_text} has no category {unknown[0]!r}; it has: {', '.join(data)}")
        data = {c: data[c] for c in categories}
    for category in data:
        if not CATEGORY_NAME.fullmatch(category):
            raise DataError(f"category name {category!r} cannot name a folder; use letters, digits, _ . -")
    return data


__all__ = ["Categorized", "load_categorized", "parse_categorized", "read_folder"]
