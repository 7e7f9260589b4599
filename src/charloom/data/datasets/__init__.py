"""The datasets that ship inside the package, so charloom works with no data of its own,
and those fetched on first use (``data/fetched.py``) or built on this machine
(``data/built.py``).

Each set is one UTF-8 file in this folder, described by an entry of ``index.json``
(written by the build scripts in ``scripts/``, which also hold the counts). Files are
read with ``importlib.resources``, so the sets load from a wheel or a zip as well as
from a source checkout. Where the data came from is told in ``README.md`` here.

>>> get_dataset("names").format
'lines'
>>> dataset_text("names").splitlines()[0]
'emma'
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from charloom.data.built import BUILT
from charloom.data.fetched import FETCHED, fetched_text
from charloom.errors import DataError

__all__ = ["DatasetInfo", "dataset_text", "get_dataset", "is_dataset", "list_datasets"]


@dataclass(frozen=True)
class DatasetInfo:
    """What one embedded dataset is, where it came from, and which file holds it."""

    name: str  # e.g. "names"
    description: str  # one line
    format: str  # "lines" (one item per line), "categorized" (category<TAB>item) or "text"
    source: str  # where it came from
    licence: str
    filename: str  # file name inside this package folder
    categories: tuple[str, ...] = ()  # for categorized sets
    items: int = 0  # number of lines
    fetched: bool = False  # downloaded on first use and verified, then read from the cache


@cache
def _index() -> dict[str, dict[str, Any]]:
    return json.loads(resources.files(__name__).joinpath("index.json").read_text("utf-8"))


def _names() -> list[str]:
    return sorted([*_index(), *BUILT, *FETCHED])


def list_datasets() -> list[DatasetInfo]:
    """Every embedded dataset, those fetched on first use and those built on this machine,
    by name."""
    return [get_dataset(name) for name in _names()]


def is_dataset(name: str) -> bool:
    """Whether `name` names a dataset (rather than, say, a file path)."""
    return name in _index() or name in BUILT or name in FETCHED


def get_dataset(name: str) -> DatasetInfo:
    """The description of one dataset; DataError naming the known sets if unknown."""
    if name in BUILT:
        built = BUILT[name]
        return DatasetInfo(name, built["description"], "text", built["source"], built["licence"], "")
    if name in FETCHED:
        e = FETCHED[name]
        return DatasetInfo(
            name, e["description"], e["format"], e["url"], e["licence"], "", (), e["items"], True
        )
    entry = _index().get(name)
    if entry is None:
        known = ", ".join(_names())
        raise DataError(f"there is no embedded dataset {name!r}; the known sets are: {known}")
    return DatasetInfo(
        name=name,
        description=entry["description"],
        format=entry["format"],
        source=entry["source"],
        licence=entry["licence"],
        filename=entry["filename"],
        categories=tuple(entry.get("categories", ())),
        items=entry.get("items", 0),
    )


def dataset_text(name: str, keep_accents: bool = False) -> str:
    """The dataset's file as text, gunzipped if stored as .gz.

    With `keep_accents`, a categorized set gives its variant with accents kept ("zoë")
    instead of folded to a-z ("zoe"); a set without such a variant raises DataError.

    >>> dataset_text("names-by-country", keep_accents=True).count("\\n") > 10_000
    True
    """
    if name in BUILT:
        return BUILT[name]["build"]()
    if name in FETCHED:
        return fetched_text(name)
    info = get_dataset(name)
    filename = info.filename
    if keep_accents:
        filename = _index()[name].get("accented_filename")
        if filename is None:
            accented = ", ".join(n for n, e in sorted(_index().items()) if "accented_filename" in e)
            raise DataError(
                f"the dataset {name!r} has no variant with accents kept (only {accented} do); "
                "load it without keep_accents"
            )
    data = resources.files(__name__).joinpath(filename).read_bytes()
    if filename.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")
