"""Helpers shared by the benchmark scripts: where the reference data is, timing."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE_NAMES = REPO.parent / "shared" / "data" / "names.txt"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--data",
        default=str(REFERENCE_NAMES),
        help="names file (default: ../shared/data/names.txt, the makemore file)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="charloom-bench-"))


def report(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(_fmt(row.get(k)) for k in keys) + " |")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)
