"""Errors meant for the person at the keyboard.

A ``CharloomError`` carries one sentence that says what was wrong and what to do;
the CLI prints it on one line and exits with code 2. Anything else is a bug and
keeps its traceback.
"""


class CharloomError(Exception):
    """A user error: bad input, bad option, unusable file. Exit code 2, no traceback."""

    exit_code = 2


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
