"""Shared by the build scripts: where the package data lives and how its index is updated.

Each build script owns some entries of ``index.json`` and rewrites only those, so the
scripts can run in any order and a rerun leaves the file byte-for-byte the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASETS_DIR = Path(__file__).resolve().parent.parent / "src" / "charloom" / "data" / "datasets"
INDEX_PATH = DATASETS_DIR / "index.json"


def update_index(entries: dict[str, dict[str, Any]]) -> None:
    """Replace the named entries of index.json, keeping the others, sorted by name."""
    index = json.loads(INDEX_PATH.read_text(encoding="utf-8")) if INDEX_PATH.exists() else {}
    index.update(entries)
    text = json.dumps(dict(sorted(index.items())), indent=2, ensure_ascii=False) + "\n"
    INDEX_PATH.write_text(text, encoding="utf-8")
