"""Features of a text that units may track, each a number per character: the 0/1 ones
of Karpathy's cells (inside quotes, inside brackets), and the graded ones code has (bracket
depth, indentation, characters since the newline), which a unit can follow as a count.
Each value is what is known after reading that character."""

from __future__ import annotations

import re

import numpy as np

from charloom.errors import CharloomError

BRACKETS = {"(": ")", "[": "]", "{": "}"}
URL = r"(?:https?|ftp)://[^\s<>\"'\]\[|]+"  # the slides' Wikipedia URLs end at a space, a bracket or a bar


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
        "in_c_comment": in_c_comment(text),
        "in_url": regex_feature(text, URL),
        "in_wiki_link": (wiki_link_position(text) >= 0).astype(float),
        "wiki_link_position": np.maximum(wiki_link_position(text), 0),
        "in_if_block": in_if_block(text),
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


def in_c_comment(text: str) -> np.ndarray:
    """1 from a /* outside a string to its */, both marks included (the slides' Linux
    source comments)."""
    values, inside = np.zeros(len(text)), False
    strings = in_string(text)
    t = 0
    while t < len(text):
        if not inside and text.startswith("/*", t) and not strings[t]:
            inside = True
            values[t : t + 2] = 1
            t += 2
            continue
        if inside and text.startswith("*/", t):
            values[t : t + 2] = 1
            inside = False
            t += 2
            continue
        values[t] = inside
        t += 1
    return values


def wiki_link_position(text: str) -> np.ndarray:
    """Inside a Wikipedia link [[ ... ]]: how many characters into it (0 on the first
    character after [[); -1 outside, on the brackets too."""
    values, start = np.full(len(text), -1.0), None
    for t in range(len(text)):
        if start is None and text.startswith("[[", t - 1) and t >= 1:
            start = t + 1
        elif start is not None and text.startswith("]]", t):
            start = None
        elif start is not None and t >= start:
            values[t] = t - start
    return values


def in_if_block(text: str) -> np.ndarray:
    """1 inside the body of an ``if``: in C, from the { after ``if (...)`` to its matching
    }; in Python, on the lines indented under ``if ...:``. What a unit must hold to know
    that the code it reads runs only sometimes."""
    values = np.zeros(len(text))
    for match in re.finditer(r"\bif\s*\(", text):
        depth, t = 0, match.end() - 1
        while t < len(text):  # past the condition's parentheses
            depth += {"(": 1, ")": -1}.get(text[t], 0)
            t += 1
            if depth == 0:
                break
        while t < len(text) and text[t] in " \t\n":
            t += 1
        if t < len(text) and text[t] == "{":
            depth, start = 0, t
            while t < len(text):
                depth += {"{": 1, "}": -1}.get(text[t], 0)
                if depth == 0:
                    break
                t += 1
            values[start:t] = 1
    lines, offset, opened = text.split("\n"), 0, None
    for line in lines:
        indent = len(line) - len(line.lstrip(" \t"))
        if opened is not None and line.strip() and indent <= opened:
            opened = None
        if opened is not None:
            values[offset : offset + len(line)] = 1
        if re.match(r"\s*(el)?if\b.*:\s*(#.*)?$", line):
            opened = indent
        offset += len(line) + 1
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
