"""``charloom play``: write an item or a text together with the model, one choice at a time.

Each turn shows the text so far, the model's most likely next characters with their
probabilities, numbered, and one continuation drawn at the current temperature. The user
picks a character by its number, types characters of their own, or gives a command.
Plain lines on standard input and output, so it runs in any terminal and through a pipe.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from charloom.cli.app import add_device, command
from charloom.errors import CharloomError
from charloom.generate.explore import END
from charloom.run import Run, load_run

HELP = """\
  N        add the N-th character of the list (the end finishes the item)
  text     add these characters (\\text adds text that is all digits or starts with ':')
  (empty)  draw another continuation
  :u       undo the last addition      :c  start again
  :t T     temperature T (0: greedy)   :k N  show N characters
  :h       this help                   :q  quit"""


def shown(text: str) -> str:
    """Characters a terminal would hide or act on, made visible."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def symbol(char: str) -> str:
    """One character of the list: the end as 'end', a space as '␣'."""
    return "end" if char == END else "␣" if char == " " else shown(char)


@dataclass
class Play:
    """One session's state and what each line of input does to it."""

    run: Run
    top: int = 10
    temperature: float = 1.0
    seed: int = 0
    category: str | None = None
    text: str = ""
    history: list[str] = field(default_factory=list)
    listing: list[tuple[str, float]] = field(default_factory=list)
    draws: int = 0

    @property
    def lines(self) -> bool:
        return self.run.format == "lines"

    def view(self) -> str:
        """The text so far, the numbered next characters and a continuation."""
        if not self.lines and not self.text:
            self.listing = []
            return "type the start of a text"
        self.listing = self.run.next_chars(
            self.text, top=self.top, temperature=self.temperature, category=self.category
        )
        cells = [f"{i:>2} {symbol(ch)} {p:.3f}" for i, (ch, p) in enumerate(self.listing, 1)]
        rows = ["   ".join(cells[i : i + 5]) for i in range(0, len(cells), 5)]
        return "\n".join([f"text: {shown(self.text)}|", *rows, f"model: {self.continuation()}"])

    def continuation(self) -> str:
        options = {"prefix": self.text, "temperature": self.temperature}
        if not self.lines:
            options["max_new_tokens"] = 80
        [sample] = self.run.sample(n=1, seed=self.seed + self.draws, category=self.category, **options)
        self.draws += 1
        rest = shown(sample.text[len(self.text) :])
        return f"{shown(self.text)}|{rest}" + (f"  ({sample.seen})" if sample.seen else "")

    def handle(self, line: str) -> str | None:
        """Apply one line of input; returns what to print before the next view ("" for
        nothing), or None to quit."""
        command, _, argument = line.strip().partition(" ")
        if line.startswith(":"):
            return self.command(command, argument.strip())
        if line == "":
            return ""
        if line.isdigit():
            return self.pick(int(line))
        return self.add(line[1:] if line.startswith("\\") else line)

    def command(self, command: str, argument: str) -> str | None:
        if command == ":q":
            return None
        if command == ":h":
            return HELP
        if command == ":u":
            if not self.history:
                return "nothing to undo"
            self.text = self.history.pop()
            return ""
        if command == ":c":
            self.history.append(self.text)
            self.text = ""
            return ""
        if command in (":t", ":k"):
            try:
                value = float(argument) if command == ":t" else int(argument)
            except ValueError:
                return f"{command} takes a number, e.g. {command} {'0.8' if command == ':t' else '5'}"
            if value < (0 if command == ":t" else 1):
                return f"{command} {argument}: too small"
            if command == ":t":
                self.temperature = value
                return f"temperature {value:g}"
            self.top = int(value)
            return ""
        return f"no command {command}; :h lists them"

    def pick(self, number: int) -> str:
        if not 1 <= number <= len(self.listing):
            return f"pick 1 to {len(self.listing)}" if self.listing else "type some text first"
        char, _ = self.listing[number - 1]
        if char == END:
            finished = self.run.score(self.text)[0] if self.text else None
            self.history.append(self.text)
            mark = self.run.seen(self.text) if self.text else ""
            self.text = ""
            if finished is None:
                return "an empty item; start typing"
            return f"finished: {finished.text}  ({mark}, {finished.nll_per_char:.3f} nats/char)"
        return self.add(char)

    def add(self, characters: str) -> str:
        unknown = self.run.vocab.unknown_chars(characters)
        if unknown:
            return (
                f"the model has no {shown(unknown[0])!r}; it knows {shown(''.join(self.run.vocab.chars))!r}"
            )
        self.history.append(self.text)
        self.text += characters
        return ""


def _add_play(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("--prefix", default="", help="text to start from")
    p.add_argument("--top", type=int, default=10, help="how many next characters to show (default 10)")
    p.add_argument("--temperature", type=float, default=1.0, help="of the list and the continuation")
    p.add_argument("--seed", type=int, default=0, help="seed of the continuations (default 0)")
    p.add_argument("--category", help="the category, for a run trained with --condition category")
    p.add_argument("--weights", choices=["model", "last"], default="model")
    add_device(p)


@command(
    "play", "write with the model: its next characters, pick or type, undo, change temperature", _add_play
)
def cmd_play(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise CharloomError(f"--top must be at least 1, got {args.top}")
    if args.temperature < 0:
        raise CharloomError(f"--temperature must be >= 0, got {args.temperature}")
    run = load_run(args.run, weights=args.weights, device=args.device)
    play = Play(run, args.top, args.temperature, args.seed, args.category)
    reply = play.add(args.prefix)
    if reply:
        raise CharloomError(f"--prefix: {reply}")
    play.history.clear()
    print(f"charloom play: {run.family} on {run.format}; :h for help, :q to quit")
    while True:
        try:
            print(play.view())
        except CharloomError as error:  # a text too long for the model's context, say
            print(f"! {error}; :u to undo")
        try:
            line = input("> ")
        except EOFError:
            print()
            return 0
        reply = play.handle(line)
        if reply is None:
            return 0
        if reply:
            print(reply)
        sys.stdout.flush()
