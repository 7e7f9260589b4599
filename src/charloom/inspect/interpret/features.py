"""Features of a text that units may track, each a number per character: the 0/1 ones
of Karpathy's cells (inside quotes, inside brackets), and the graded ones code has (bracket
depth, indentation, characters since the newline), which a unit can follow as a count.
Each value is what is known after reading that character."""

from __future__ import annotations

import re

import numpy as np

from charloom.errors import CharloomError

BRACKETS = {"(": ")", "[": "]", "{": "}"}


def inside_quotes(text: str) -> np.ndarray:
    """1 from an opening '"' up to (not including) its closing one: what is known after
    reading each character."""
    inside, values = False, np.zeros(len(text))
    for t, char in enumerate(text):
        if char == '"':
            inside = not inside
        values[t] = inside
    return values


def inside_brackets(text: str) -> np.ndarray:
    """1 while any of ( [ { is open (nesting counted), from the opener to before the closer."""
    return (bracket_depth(text) > 0).astype(float)


def line_position(text: str) -> np.ndarray:
    """Where each character sits in its line, 0 at the start to 1 at the end."""
    values = np.zeros(len(text))
    start = 0
    for line in text.split("\n"):
        n = len(line)
        values[start : start + n] = np.arange(n) / max(n - 1, 1)
        start += n + 1
    return values


def builtin_features(text: str) -> dict[str, np.ndarray]:
    """The features Karpathy found cells for, simpler ones to compare with, and the graded
    ones of code (how deep, how far along), which a unit can follow as a number."""
    chars = np.array(list(text)) if text else np.array([], dtype=str)
    previous = np.array(["\n", *text[:-1]]) if text else chars
    return {
        "quote": inside_quotes(text),
        "bracket": inside_brackets(text),
        "line_position": line_position(text),
        "word": np.array([c.isalnum() or c == "'" for c in text], dtype=float),
        "line_start": (previous == "\n").astype(float),
        "digit": np.array([c.isdigit() for c in text], dtype=float),
        "bracket_depth": bracket_depth(text),
        "indent": indent_level(text),
        "since_newline": since_newline(text),
        "in_string": in_string(text),
        "in_comment": in_comment(text),
    }


def bracket_depth(text: str) -> np.ndarray:
    """How many of ( [ { are open after each character (a number, not 0/1)."""
    depth, values = 0, np.zeros(len(text))
    closers = set(BRACKETS.values())
    for t, char in enumerate(text):
        if char in BRACKETS:
            depth += 1
        elif char in closers and depth > 0:
            depth -= 1
        values[t] = depth
    return values


def indent_level(text: str) -> np.ndarray:
    """The leading spaces of each character's line (a tab counted as 4), on every
    character of the line: what a unit must remember to close a block."""
    values = np.zeros(len(text))
    start = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        values[start : start + len(line) + 1] = lead.count(" ") + 4 * lead.count("\t")
        start += len(line) + 1
    return values[: len(text)]


def since_newline(text: str) -> np.ndarray:
    """Characters read since the last newline (0 on the newline itself): the count a unit
    needs to break lines at the usual width."""
    values, count = np.zeros(len(text)), 0
    for t, char in enumerate(text):
        count = 0 if char == "\n" else count + 1
        values[t] = count
    return values


def in_string(text: str) -> np.ndarray:
    """1 inside a one-line string literal, quoted ' or ", opener included, closer not; a
    backslash escapes the next character; a newline ends an unclosed one."""
    values, quote, escaped = np.zeros(len(text)), None, False
    for t, char in enumerate(text):
        if quote is None and char in "'\"":
            quote = char
        elif quote is not None and not escaped and (char == quote or char == "\n"):
            quote = None
        escaped = quote is not None and char == "\\" and not escaped
        values[t] = quote is not None
    return values


def in_comment(text: str) -> np.ndarray:
    """1 from a # outside a string to the end of its line."""
    values, inside = np.zeros(len(text)), False
    strings = in_string(text)
    for t, char in enumerate(text):
        if char == "\n":
            inside = False
        elif char == "#" and not strings[t]:
            inside = True
        values[t] = inside
    return values


def regex_feature(text: str, pattern: str) -> np.ndarray:
    """1 for every character inside a match of ``pattern``."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise CharloomError(f"--feature regex {pattern!r} does not compile ({exc})") from None
    values = np.zeros(len(text))
    for match in compiled.finditer(text):
        values[match.start() : match.end()] = 1
    return values


def parse_feature(spec: str, text: str) -> tuple[str, np.ndarray]:
    """'NAME=REGEX' -> (NAME, feature)."""
    name, sep, pattern = spec.partition("=")
    if not sep or not name or not pattern:
        raise CharloomError(f"--feature expects NAME=REGEX, got {spec!r}")
    return name, regex_feature(text, pattern)
