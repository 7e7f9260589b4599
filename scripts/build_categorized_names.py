"""Build the categorized name sets: first names and full names grouped by language.

The name lists come from two MIT-licensed fake-data packages, faker and mimesis, which
ship per-locale first and last names. Each category merges the locales of one language
(both sexes, both packages), because single locales often hold only a few hundred first
names and a style model needs more. Only Latin-script languages are used, so that
folding accents to a-z keeps the names recognisable.

Four files come out, each UTF-8 with one ``category<TAB>item`` line:
- ``names_by_country.tsv``: distinct first names, accents folded to a-z;
- ``names_by_country.accented.tsv``: the same names lowercased with their accents;
- ``fullnames_by_country.tsv.gz``: seeded "first last" pairs, folded;
- ``fullnames_by_country.accented.tsv.gz``: the same pairs, line for line, with accents.

Both packages are build-time dependencies only:

    pip install faker==40.54.0 mimesis==22.2.0
    python scripts/build_categorized_names.py
"""

from __future__ import annotations

import argparse
import gzip
import html
import importlib
import importlib.metadata
import importlib.util
import json
import random
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from dataset_index import DATASETS_DIR, update_index

# category -> (faker locales, mimesis locales). Only locales that add names are listed.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "czech": (("cs_CZ",), ("cs",)),
    "danish": (("da_DK",), ("da",)),
    "dutch": (("nl_NL", "nl_BE"), ("nl",)),
    "english": (("en_US", "en_GB"), ("en",)),
    "estonian": (("et_EE",), ("et",)),
    "french": (("fr_FR", "fr_BE", "fr_CH", "fr_CA"), ("fr",)),
    "german": (("de_DE", "de_AT"), ("de", "de-at")),
    "hungarian": (("hu_HU",), ("hu",)),
    "icelandic": (("is_IS",), ("is",)),
    "italian": (("it_IT",), ("it",)),
    "norwegian": (("no_NO",), ("no",)),
    "portuguese": (("pt_PT", "pt_BR"), ("pt", "pt-br")),
    "spanish": (("es_ES", "es_MX", "es_CO", "es_AR", "es_CL"), ("es", "es-mx")),
    "swedish": (("sv_SE",), ("sv",)),
    "turkish": (("tr_TR",), ("tr",)),
}
MIN_FIRST_NAMES = 1000
FULL_NAMES_PER_CATEGORY = 3000
SEED = 1234

# Letters that NFKD does not decompose into a base letter plus marks.
SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ŀ": "l",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
        "ĸ": "k",
        "ſ": "s",
    }
)
# A first name has a vowel: that drops source noise such as "T" (sv) and "Ch" (cs).
FIRST_NAME = re.compile(r"(?=.*[aeiouy])[a-z]{2,}")
LAST_NAME = re.compile(r"(?=..)[a-z]+( [a-z]+)*")  # "de la cruz", "van dijk"; "ng" stays


def clean(raw: str) -> str:
    """Lowercase, repair mojibake, undo HTML entities, drop invisible marks, squeeze spaces."""
    # "İ".lower() is "i" plus a combining dot (U+0307): map it to a plain "I" first.
    text = unmojibake(html.unescape(raw)).replace("\xa0", " ").replace("İ", "I")
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(unicodedata.normalize("NFC", text.lower()).split())


def unmojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252, as in mimesis's Danish "MÃ¸ller" for "Møller"."""
    if "Ã" not in text:
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text


def fold(text: str) -> str:
    """Fold a lowercase name to plain letters: 'zoë' -> 'zoe', 'ß' -> 'ss', 'ø' -> 'o'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(SPECIAL_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def faker_names(locale: str) -> tuple[set[str], set[str]]:
    """First names (all sexes) and last names defined by one faker locale itself."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    # vars(), not getattr(): a locale without its own list would inherit faker's
    # placeholder names (John, Jane, Doe) from the base provider.
    # A property (es_CL's first_names) only merges the male and female lists: skip it.
    own = {key: value for key, value in vars(provider).items() if not isinstance(value, property)}
    first: set[str] = set()
    for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
        first.update(own.get(attr, ()))
    return first, set(own.get("last_names", ()))


def mimesis_names(locale: str) -> tuple[set[str], set[str]]:
    """First names (all sexes) and last names from one mimesis locale's person.json."""
    spec = importlib.util.find_spec("mimesis")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mimesis is not installed: pip install mimesis==22.2.0")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / locale / "person.json"
    person = json.loads(path.read_text(encoding="utf-8"))
    first = {name for names in person["names"].values() for name in names}
    surnames = person["surnames"]
    if isinstance(surnames, dict):  # some locales split surnames by sex
        surnames = [name for names in surnames.values() for name in names]
    return first, set(surnames)


def accepted(raw_names: Iterable[str], pattern: re.Pattern[str]) -> list[str]:
    """Distinct cleaned names of letters and spaces whose folded form matches pattern, sorted.

    The letters test comes first because NFKD turns a stray spacing accent ("franc¸ois")
    into a space, which would pass the pattern as a second word.
    """
    names = {clean(raw) for raw in raw_names}
    return sorted(
        name for name in names if all(c.isalpha() or c == " " for c in name) and pattern.fullmatch(fold(name))
    )


def full_names(category: str, first: list[str], last: list[str], count: int) -> list[str]:
    """`count` seeded "first last" pairs, distinct once folded, in folded order (accented)."""
    rng = random.Random(f"charloom-fullnames:{SEED}:{category}")
    by_folded: dict[str, str] = {}
    while len(by_folded) < count:
        pair = f"{rng.choice(first)} {rng.choice(last)}"
        by_folded.setdefault(fold(pair), pair)
    return [by_folded[key] for key in sorted(by_folded)]


def tsv(rows: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{category}\t{item}\n" for category, item in rows)


def write(filename: str, text: str) -> None:
    data = text.encode("utf-8")
    if filename.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime=0: same bytes each run
    (DATASETS_DIR / filename).write_bytes(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full-names",
        type=int,
        default=FULL_NAMES_PER_CATEGORY,
        help="full names per category (default %(default)s)",
    )
    args = parser.parse_args(argv)

    first_rows: list[tuple[str, str]] = []
    first_accented_rows: list[tuple[str, str]] = []
    full_rows: list[tuple[str, str]] = []
    full_accented_rows: list[tuple[str, str]] = []
    first_counts: dict[str, int] = {}
    for category, (faker_locales, mimesis_locales) in CATEGORIES.items():
        raw_first: set[str] = set()
        raw_last: set[str] = set()
        for first, last in [*map(faker_names, faker_locales), *map(mimesis_names, mimesis_locales)]:
            raw_first |= first
            raw_last |= last
        first_accented = accepted(raw_first, FIRST_NAME)
        last_accented = accepted(raw_last, LAST_NAME)
        first_folded = sorted(set(map(fold, first_accented)))
        if len(first_folded) < MIN_FIRST_NAMES:
            raise SystemExit(f"{category}: only {len(first_folded)} first names; pick other locales")
        first_counts[category] = len(first_folded)
        first_rows += [(category, name) for name in first_folded]
        first_accented_rows += [(category, name) for name in first_accented]
        pairs = full_names(category, first_accented, last_accented, args.full_names)
        full_accented_rows += [(category, pair) for pair in pairs]
        full_rows += [(category, fold(pair)) for pair in pairs]
        print(
            f"{category:11s} first {len(first_folded):5d} folded / {len(first_accented):5d} "
            f"accented; last {len(last_accented):5d}"
        )

    write("names_by_country.tsv", tsv(first_rows))
    write("names_by_country.accented.tsv", tsv(first_accented_rows))
    write("fullnames_by_country.tsv.gz", tsv(full_rows))
    write("fullnames_by_country.accented.tsv.gz", tsv(full_accented_rows))

    versions = {pkg: importlib.metadata.version(pkg) for pkg in ("faker", "mimesis")}
    source = (
        f"per-locale name lists of the PyPI packages faker {versions['faker']} and "
        f"mimesis {versions['mimesis']}, merged by language"
    )
    categories = list(CATEGORIES)
    common = {
        "format": "categorized",
        "source": source,
        "licence": "MIT (faker, mimesis)",
        "categories": categories,
    }
    update_index(
        {
            "names-by-country": {
                "description": f"first names in {len(categories)} languages, accents folded to a-z",
                **common,
                "filename": "names_by_country.tsv",
                "accented_filename": "names_by_country.accented.tsv",
                "items": len(first_rows),
                "category_items": first_counts,
            },
            "fullnames-by-country": {
                "description": f"seeded 'first last' names in {len(categories)} languages, "
                "accents folded to a-z",
                **common,
                "filename": "fullnames_by_country.tsv.gz",
                "accented_filename": "fullnames_by_country.accented.tsv.gz",
                "items": len(full_rows),
                "category_items": {category: args.full_names for category in categories},
            },
        }
    )
    print(f"{len(first_rows)} first names, {len(full_rows)} full names in {len(categories)} categories")


if __name__ == "__main__":
    main()
