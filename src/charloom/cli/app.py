"""The command line's frame: subcommands register here, and ``main`` turns what they
raise into one line and an exit code.

User errors (``CharloomError``) print one line on stderr starting ``charloom: error:`` and
exit with code 2, and so does an ``OSError`` that reaches the top (a file or folder of the
user's that cannot be read or written); Ctrl-C exits with 130; a closed pipe (``| head``)
ends quietly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from charloom.errors import CharloomError, spoken_as_flags
from charloom.version import __version__

AddArguments = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[AddArguments, Handler, str]] = {}


def command(name: str, help: str, add_arguments: AddArguments):
    """Register a subcommand: its handler, the function that adds its arguments, its help."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (add_arguments, handler, help)
        return handler

    return register


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise CharloomError(f"{message} (see `{self.prog} --help`)")


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: Any):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        default="auto",
        help="where the model runs: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda, cuda:N, mps",
    )


def say(message: str) -> None:
    """Progress for a person, on stderr, so that stdout stays the command's output."""
    print(message, file=sys.stderr)


def one_line(message: str) -> str:
    """The message with every character that could break or hide a line (a newline, a
    separator, a control code, an invisible direction mark) written as its escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)


def build_parser() -> Parser:
    parser = Parser(
        prog="charloom",
        description="Character-level generative models: learn from names or text, make more of the same.",
    )
    parser.add_argument("--version", action="version", version=f"charloom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (add_arguments, _, help_text) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """The command line read as a person writes it: a command's flags and positionals in
    any order (``charloom eval RUN --json FILE``), which argparse reads only intermixed,
    and only on the command's own parser."""
    if argv and argv[0] in COMMANDS:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        args = commands.choices[argv[0]].parse_intermixed_args(argv[1:])
        args.command = argv[0]
        return args
    return parser.parse_args(argv or ["--help"])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with spoken_as_flags():
        return _run(argv)


def _run(argv: list[str]) -> int:
    try:
        parser = build_parser()
        args = parse(parser, argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command][1](args)
    except CharloomError as exc:
        print(f"charloom: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("charloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the user's files and folders: a name too long, no permission, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        print(f"charloom: error: {one_line(f'{exc.strerror or exc}{where}')[:500]}", file=sys.stderr)
        return 2
