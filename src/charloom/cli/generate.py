"""``charloom sample``, ``score`` and ``eval``: using a trained run."""

from __future__ import annotations

import argparse
import json
import sys

from charloom.cli.app import add_device, command, emit_json
from charloom.cli.options import add_config_flags, given
from charloom.data.corpus import parse_lines, read_text_file
from charloom.errors import CharloomError
from charloom.generate.pipeline import SampleOptions, declaring_classes
from charloom.generate.samples import Samples
from charloom.generate.streaming import judged_flags
from charloom.options import check_count
from charloom.run import load_run


def _add_weights(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weights",
        choices=["model", "last"],
        default="model",
        help="best-by-val weights (default) or the latest checkpoint",
    )
    add_device(p)


def _add_sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("-n", "--num-return-sequences", dest="n", type=int, default=10, help="how many items")
    p.add_argument("--seed", type=int, help="random seed (default: random)")
    _add_weights(p)
    p.add_argument("--category", help="the category to generate, for a run trained with --condition category")
    p.add_argument("--output", help="also write the items to this file")
    p.add_argument("--json", action="store_true", help="items with their scores as JSON")
    p.add_argument("--quiet", action="store_true", help="no tried/kept line on stderr")
    p.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        help="print each character as it is drawn (default: on for one text sample on a terminal)",
    )
    for declaring in declaring_classes():
        add_config_flags(p, declaring)


@command("sample", "generate items from a trained run, with constraints and search", _add_sample)
def cmd_sample(args: argparse.Namespace) -> int:
    run = load_run(args.run, weights=args.weights, device=args.device)
    options = {
        name: value for declaring in declaring_classes() for name, value in given(args, declaring).items()
    }
    if args.stream and args.json:
        raise CharloomError("--stream prints characters as they come, --json one document; choose one")
    streaming = args.stream
    if streaming is None:  # one text sample on a terminal, unless an option judges the finished item
        streaming = run.format == "text" and args.n == 1 and not args.json and sys.stdout.isatty()
        streaming = streaming and not judged_flags(SampleOptions.from_kwargs(options))
    if streaming:
        return _stream(run, args, options)
    account = Samples(requested=args.n, budget=options.get("budget"))
    output, items_in_json = None, 0
    try:
        for piece in run.sample_chunks(args.n, seed=args.seed, category=args.category, **options):
            account.absorb(piece)
            if account.returned == 0:
                break
            if args.output and output is None:  # opened once there is something to write
                output = open(args.output, "w", encoding="utf-8")  # closed in the finally below
            for s in piece:
                if output is not None:
                    output.write(s.text + "\n")
                if args.json:
                    print(("[\n" if items_in_json == 0 else ",\n") + json.dumps(s.to_json()), end="")
                    items_in_json += 1
                elif run.format == "text":
                    print(s.text)
                else:
                    score = "" if s.score is None else f"\t{s.score:.4f}"
                    print(f"{s.text}\t{s.seen}\t{s.nll_per_char:.3f}{score}")
            sys.stdout.flush()
    finally:  # Ctrl-C included: what was written stays, and the JSON stays a JSON array
        if output is not None:
            output.close()
        if items_in_json:
            print("\n]")
    if account.returned == 0:
        raise CharloomError(
            f"no item satisfied the constraints ({account.summary()}); loosen them or raise --budget"
        )
    if not args.quiet:
        print(f"charloom: {account.summary()}", file=sys.stderr)
    return 0


def _stream(run, args: argparse.Namespace, options: dict) -> int:
    """``-n`` items one after another, each printed a character at a time (seeds seed,
    seed + 1, ...), in the same lines as without ``--stream``."""
    check_count(args.n)
    output = open(args.output, "w", encoding="utf-8") if args.output else None
    try:
        for i in range(args.n):
            seed = None if args.seed is None else args.seed + i
            stream = run.stream(seed=seed, category=args.category, **options)
            try:
                for piece in stream:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
            except KeyboardInterrupt:
                print()  # the interrupted line ends; what was written stays
                raise
            s = stream.sample
            print("" if s.seen is None else f"\t{s.seen}\t{s.nll_per_char:.3f}", flush=True)
            if output is not None:
                output.write(s.text + "\n")
    finally:
        if output is not None:
            output.close()
    return 0


def _add_score(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("items", nargs="*", help="items to score")
    p.add_argument("--file", help="score every line of this file instead")
    p.add_argument("--bits", action="store_true", help="report in bits instead of nats")
    _add_weights(p)
    p.add_argument("--json", action="store_true")


@command(
    "score",
    "how likely a run finds items: total and per-character NLL, surprisal of each character",
    _add_score,
)
def cmd_score(args: argparse.Namespace) -> int:
    if bool(args.items) == bool(args.file):
        raise CharloomError("give the items to score, or --file FILE (one item per line), not both")
    items = parse_lines(read_text_file(args.file), args.file) if args.file else args.items
    run = load_run(args.run, weights=args.weights, device=args.device)
    unit = "bits" if args.bits else "nats"
    total, tokens, written = 0.0, 0, 0
    if not args.json:
        print(f"# item\tnll\tnll_per_char\tsurprisal of each character ({unit}; '.' is the end)")
    else:
        print(f'{{"unit": "{unit}", "items": [', end="")
    for piece in run.score_chunks(items):  # scored and printed a piece at a time
        report = piece.to_json(unit)
        total, tokens = total + report["nll_per_char"] * report["tokens"], tokens + report["tokens"]
        for r in report["items"]:
            if args.json:
                print(("\n" if written == 0 else ",\n") + json.dumps(r), end="")
            else:
                surprisal = " ".join(f"{_printable(token)}:{value:.2f}" for token, value in r["surprisal"])
                print(f"{r['item']}\t{r['nll']:.4f}\t{r['nll_per_char']:.4f}\t{surprisal}")
            written += 1
    mean = total / max(tokens, 1)
    if args.json:
        print(f'\n], "nll_per_char": {json.dumps(mean)}, "tokens": {tokens}}}')
    else:
        print(f"# all: {mean:.4f} {unit}/char over {tokens:,} characters")
    return 0


def _printable(token: str) -> str:
    return token if token.isprintable() else token.encode("unicode_escape").decode()


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("file", nargs="?", help="score this file instead of a split")
    p.add_argument("--split", choices=["train", "val", "test"], default="val", help="default: val")
    _add_weights(p)
    p.add_argument("--json", action="store_true")


@command("eval", "mean NLL per character on a split or a file", _add_eval)
def cmd_eval(args: argparse.Namespace) -> int:
    result = load_run(args.run, weights=args.weights, device=args.device).evaluate(args.split, file=args.file)
    if args.json:
        emit_json(result)
    else:
        print(
            f"{result['data']}: {result['nll']:.4f} nats/char  {result['bpc']:.4f} bits/char  "
            f"perplexity {result['perplexity']:.3f}  ({result['tokens']:,} characters)"
        )
    return 0
