"""Errors meant for the person at the keyboard.

A ``CharloomError`` carries one sentence that says what was wrong and what to do;
the CLI prints it on one line and exits with code 2. Anything else is a bug and
keeps its traceback.

A message names each option by its flag (``--top-k must be at least 1``), and reads so on
the command line, which ``spoken_as_flags`` marks; everywhere else (the Python API, the
server's JSON) the same error names the parameter the caller wrote (``top_k must be at
least 1``), so the spelling is decided where the error is read, not in every message.
"""

import contextlib
import contextvars
import re
from collections.abc import Iterator

_FLAGS_SPOKEN = contextvars.ContextVar("charloom_flags_spoken", default=False)

# Flags whose Python parameter is not the flag's words joined by underscores.
PARAMETER_OF_FLAG = {
    "-n": "n",
    "--diagnostics": "diagnostics_every",
    "--no-pooled": "pooled=False",
    "--no-stateful": "stateful=False",
}

# A flag written in a message: not inside a word, a path or a quoted value.
_FLAG = re.compile(r"(?<![\w/.'\"-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*|-n\b)(?![\w-])")


@contextlib.contextmanager
def spoken_as_flags() -> Iterator[None]:
    """Errors read inside name options by their flags: the command line's ``main``. (A
    server started from there answers its clients with ``spelled(flags=False)``.)"""
    token = _FLAGS_SPOKEN.set(True)
    try:
        yield
    finally:
        _FLAGS_SPOKEN.reset(token)


def parameter_spelling(message: str) -> str:
    """``message`` with each flag written as the Python parameter it stands for."""
    return _FLAG.sub(lambda flag: _parameter(flag.group(1)), message)


def _parameter(flag: str) -> str:
    return PARAMETER_OF_FLAG.get(flag) or flag.removeprefix("--").replace("-", "_")


class CharloomError(Exception):
    """A user error: bad input, bad option, unusable file. Exit code 2, no traceback."""

    exit_code = 2

    def __str__(self) -> str:
        return self.spelled(flags=_FLAGS_SPOKEN.get())

    def spelled(self, flags: bool) -> str:
        """The message naming options by their flags, or by their Python parameters."""
        message = super().__str__()
        return message if flags else parameter_spelling(message)


class DataError(CharloomError):
    """A data file or dataset that cannot be read as a corpus."""


class UnknownCharacterError(CharloomError):
    """A character that the vocabulary never saw."""

    def __init__(self, char: str, text: str, where: str = "input"):
        self.char = char
        super().__init__(
            f"the {where} {text!r} contains the character {char!r} ({_codepoint(char)}), "
            "which the model never saw in training; remove it or retrain on data that has it"
        )


class TrainingDiverged(CharloomError):
    """The loss stopped being a number, or ran away; the last good checkpoint is kept."""


class RunError(CharloomError):
    """A run directory that is missing, incomplete, corrupt or from an unknown format."""


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"
