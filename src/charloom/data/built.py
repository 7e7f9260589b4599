"""Datasets built on the user's machine instead of shipped: a code corpus from the Python
standard library's own source, the offline stand-in for the char-RNN experiments on the
Linux kernel's source (the char-RNN post).

``python-stdlib`` is every ``.py`` file of the running interpreter's standard library
(``sysconfig``'s ``stdlib`` path; test suites, ``site-packages`` and the IDLE and
lib2to3 test data left out), in sorted path order, each headed by a comment naming it,
cut at ``MAX_BYTES``. It is written once to the cache (``$CHARLOOM_CACHE``, else
``~/.cache/charloom``), atomically, and read from there after; the same Python gives the
same file.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from charloom.errors import DataError
from charloom.io import atomic_write_bytes

MAX_BYTES = 8_000_000  # about the size of the kernel subsets char-rnn trained on, a few hours on a CPU
SKIPPED_PARTS = {"test", "tests", "site-packages", "idle_test", "__pycache__", "lib2to3"}


def cache_dir() -> Path:
    return Path(os.environ.get("CHARLOOM_CACHE") or Path.home() / ".cache" / "charloom")


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def python_stdlib_files(root: Path) -> list[Path]:
    """The standard library's source files that go in, sorted."""
    files = [p for p in root.rglob("*.py") if not SKIPPED_PARTS & set(p.relative_to(root).parts)]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def build_python_stdlib(root: Path, limit: int = MAX_BYTES) -> str:
    """The corpus from the files under ``root``: each as ``# file: path`` and its text."""
    parts, size = [], 0
    for path in python_stdlib_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # a file that is not UTF-8 text (or not readable) is left out
        part = f"# file: {path.relative_to(root).as_posix()}\n{text.rstrip()}\n\n"
        if size + len(part) > limit:
            break
        parts.append(part)
        size += len(part)
    if not parts:
        raise DataError(f"no Python source under {root} to build python-stdlib from")
    return "".join(parts)


def python_stdlib_text() -> str:
    """The corpus, built on first use and cached."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    path = cache_dir() / f"python-stdlib-{version}.txt"
    if path.exists():
        return path.read_text(encoding="utf-8")
    text = build_python_stdlib(stdlib_dir())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError:
        pass  # a cache that cannot be written: the corpus is built again next time
    return text


BUILT = {
    "python-stdlib": {
        "description": "the Python standard library's source on this machine, as running text (code)",
        "source": "sysconfig's stdlib folder of the running Python, built once into the cache",
        "licence": "PSF licence (Python's own)",
        "build": python_stdlib_text,
    }
}
