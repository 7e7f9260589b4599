"""Embedded datasets (placeholder until the data branch lands)."""

from __future__ import annotations

from dataclasses import dataclass

from charloom.errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    format: str
    source: str
    licence: str
    filename: str
    categories: tuple[str, ...] = ()
    items: int = 0


def list_datasets() -> list[DatasetInfo]:
    return []


def is_dataset(name: str) -> bool:
    return any(info.name == name for info in list_datasets())


def get_dataset(name: str) -> DatasetInfo:
    for info in list_datasets():
        if info.name == name:
            return info
    raise DataError(f"no embedded dataset {name!r}")


def dataset_text(name: str, keep_accents: bool = False) -> str:
    get_dataset(name)
    raise DataError(f"no embedded dataset {name!r}")
