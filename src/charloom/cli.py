"""The ``charloom`` command: parses arguments, calls the Python API, prints.

No logic lives here beyond presentation. User errors print one line and exit with
code 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from charloom.errors import CharloomError

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


# -- model options, generated from the families' config dataclasses --------------------
def model_option_fields() -> dict[str, list[tuple[str, dataclasses.Field]]]:
    """option name -> [(family, field)] over every registered family."""
    from charloom.models.registry import FAMILIES

    options: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for family, cls in FAMILIES.items():
        for f in dataclasses.fields(cls.config_class):
            options.setdefault(f.name, []).append((family, f))
    return options


def _field_kind(f: dataclasses.Field) -> str:
    kind = str(f.type).replace("typing.", "").split("|")[0].strip()
    return kind if kind in ("int", "float", "bool", "str") else "str"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model options (each family takes its own; see `charloom models`)")
    group.add_argument(
        "--block-size",
        dest="model_block_size",
        type=int,
        default=None,
        help="context length of the transformer; for other families, the training window on running text",
    )
    for name, owners in model_option_fields().items():
        if name in TRAIN_FLAGS:
            continue
        families = ", ".join(family for family, _ in owners)
        help_text = owners[0][1].metadata.get("help", "")
        flag = "--" + name.replace("_", "-")
        if all(_field_kind(f) == "bool" for _, f in owners):
            group.add_argument(
                flag,
                dest=f"model_{name}",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} [{families}]",
            )
        else:
            group.add_argument(
                flag, dest=f"model_{name}", default=None, metavar="V", help=f"{help_text} [{families}]"
            )


def collect_model_options(args: argparse.Namespace, family: str) -> dict[str, Any]:
    """The options given on the command line, typed for ``family``; any that the family
    does not take is an error naming the ones it does."""
    from charloom.models.registry import model_class

    fields = {f.name: f for f in dataclasses.fields(model_class(family).config_class)}
    given = {
        key[6:]: value for key, value in vars(args).items() if key.startswith("model_") and value is not None
    }
    if "block_size" in given and "block_size" not in fields:
        given.pop("block_size")  # it is the text training window then
    options = {}
    for name, value in given.items():
        flag = "--" + name.replace("_", "-")
        if name not in fields:
            valid = ", ".join("--" + n.replace("_", "-") for n in fields) or "none"
            raise CharloomError(f"{flag} does not apply to model {family!r}; its options: {valid}")
        kind = _field_kind(fields[name])
        try:
            options[name] = {"int": int, "float": float, "str": str, "bool": bool}[kind](value)
        except ValueError:
            article = "an" if kind == "int" else "a"
            raise CharloomError(f"{flag} expects {article} {kind}, got {value!r}") from None
    return options


DIAGNOSTICS_EVERY = 50  # steps between recorded steps of a bare --diagnostics

TRAIN_FLAGS = {
    "max_steps",
    "time_budget",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "warmup_steps",
    "grad_clip",
    "eval_every",
    "checkpoint_every",
    "eval_max_targets",
    "num_samples",
    "block_size",
    "seed",
    "threads",
    "diagnostics_every",
    "ema",
}


def add_train_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("training")
    g.add_argument("--max-steps", type=int, help="optimisation steps (default 3000 unless --time-budget)")
    g.add_argument("--time-budget", type=float, metavar="SECONDS", help="stop after this much training time")
    g.add_argument("--batch-size", type=int, help="examples per step (family default, else 64)")
    g.add_argument("--optimizer", choices=["adamw", "sgd"], help="adamw (default) or sgd with step decay")
    g.add_argument("--lr", type=float, help="peak learning rate (family default)")
    g.add_argument(
        "--weight-decay", type=float, help="AdamW weight decay on matrices (default: the family's, else 0.01)"
    )
    g.add_argument("--warmup-steps", type=int, help="linear warm-up steps for AdamW (default 100)")
    g.add_argument("--grad-clip", type=float, help="clip the gradient norm (default 1.0; 0 = off)")
    g.add_argument("--eval-every", type=int, help="evaluate on val every N steps (default 500)")
    g.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default: --eval-every)")
    g.add_argument("--eval-max-targets", type=int, help="cap on val targets per periodic eval")
    g.add_argument("--num-samples", type=int, help="samples printed at each eval (default 5)")
    g.add_argument(
        "--ema",
        type=float,
        metavar="DECAY",
        help="evaluate, sample and save a moving average of the weights with this decay "
        "(e.g. 0.999; default 0: off)",
    )
    g.add_argument("--seed", type=int, help="seed for initialisation and batches (default 1337)")
    g.add_argument("--threads", type=int, help="torch threads")
    g.add_argument(
        "--diagnostics",
        dest="diagnostics_every",
        type=int,
        nargs="?",
        const=DIAGNOSTICS_EVERY,
        metavar="EVERY",
        help="record activations, gradients and update ratios every EVERY steps "
        f"(default {DIAGNOSTICS_EVERY}) into diagnostics.jsonl and print the checks; render "
        "with `charloom diagnose RUN`",
    )


def train_options(args: argparse.Namespace, family: str) -> dict[str, Any]:
    from charloom.models.registry import model_class

    options = {
        name: getattr(args, name)
        for name in TRAIN_FLAGS - {"block_size"}
        if getattr(args, name, None) is not None
    }
    model_fields = {f.name for f in dataclasses.fields(model_class(family).config_class)}
    if args.model_block_size is not None and "block_size" not in model_fields:
        options["block_size"] = args.model_block_size
    if options.get("grad_clip") == 0:
        options["grad_clip"] = None
    return options


# -- commands -----------------------------------------------------------------------------
def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default="names",
        help="a text file (one item per line) or an embedded dataset (default: names)",
    )
    p.add_argument("--model", default="mlp", help="model family (see `charloom models`; default mlp)")
    p.add_argument("--out", help="run folder (default runs/<model>-<data>, numbered if taken)")
    p.add_argument(
        "--format",
        choices=["lines", "text"],
        default="lines",
        help="lines: one item per line (default); text: one running text",
    )
    p.add_argument("--val-file", help="use this file as the validation split")
    p.add_argument("--test-file", help="use this file as the test split")
    p.add_argument("--split-seed", type=int, default=42, help="seed of the train/val/test shuffle")
    p.add_argument("--no-dedup", action="store_true", help="keep duplicate items")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--force", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final figures as JSON")
    add_train_options(p)
    add_model_options(p)


@command("train", "train a model on a file or embedded dataset", _add_train)
def cmd_train(args: argparse.Namespace) -> int:
    from charloom.api import train
    from charloom.rundir import RunDir
    from charloom.train.distributed import detect

    if args.resume:
        if args.out is None:
            raise CharloomError("--resume needs the run folder: --out DIR")
        run_dir = RunDir(args.out)
        run_dir.check_resumable()
        family = run_dir.read_info()["model"]["family"]
        model_options = None
    else:
        family = args.model
        model_options = collect_model_options(args, family)
    log = (lambda message: print(message, file=sys.stderr)) if args.json else print
    run = train(
        args.data,
        family,
        out=args.out,
        model_options=model_options,
        format=args.format,
        val_file=args.val_file,
        test_file=args.test_file,
        split_seed=args.split_seed,
        dedup=not args.no_dedup,
        resume=args.resume,
        force=args.force,
        progress=not args.quiet and not args.json and sys.stderr.isatty(),
        log=log,
        **train_options(args, family),
    )
    if not detect().is_main:  # under torchrun, rank 0 reports
        return 0
    if args.json:
        emit_json({"run": str(run.path), **run.info["status"]})
    else:
        print(f"\nsamples from {run.path}:")
        for s in run.sample(n=10, seed=0, prefix="" if run.format == "lines" else "\n"):
            print(
                f"  {s.text}"
                + (
                    ""
                    if s.new is None or run.format == "text"
                    else ("" if s.new else "   (in training data)")
                )
            )
    return 0


def _add_sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("-n", "--num-return-sequences", dest="n", type=int, default=10, help="how many items")
    p.add_argument("--seed", type=int, help="random seed (default: random)")
    p.add_argument(
        "--weights",
        choices=["model", "last"],
        default="model",
        help="best-by-val weights (default) or the latest checkpoint",
    )
    p.add_argument("--output", help="also write the items to this file")
    p.add_argument("--json", action="store_true", help="items with their scores as JSON")
    p.add_argument("--quiet", action="store_true", help="no tried/kept line on stderr")
    g = p.add_argument_group("decoding")
    g.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (0 = greedy)")
    g.add_argument("--top-k", type=int, help="sample from the k most likely characters only")
    g.add_argument(
        "--top-p",
        type=float,
        help="sample from the most likely characters holding this much probability (nucleus sampling)",
    )
    g.add_argument(
        "--repetition-penalty",
        type=float,
        default=1.0,
        help="> 1 makes characters already in the item less likely",
    )
    g.add_argument("--prefix", default="", help="text to continue")
    g.add_argument("--category", help="the category to generate, for a run trained with --condition category")
    g.add_argument(
        "--max-new-tokens", type=int, help="longest continuation, end included (default 100 lines, 500 text)"
    )
    g.add_argument("--min-new-tokens", type=int, default=0, help="shortest continuation (the end is masked)")
    g = p.add_argument_group("constraints (masked where possible, else resampled within --budget)")
    g.add_argument("--starts-with", default="", metavar="S", help="items start with S")
    g.add_argument("--ends-with", default="", metavar="S", help="items end with S")
    g.add_argument(
        "--contains", action="append", default=[], metavar="S", help="items contain S (repeat for several)"
    )
    g.add_argument(
        "--regex", metavar="R", help="items match the regular expression R (a search: anchor it with ^...$)"
    )
    g.add_argument("--min-len", type=int, metavar="N", help="items have at least N characters")
    g.add_argument("--max-len", type=int, metavar="N", help="items have at most N characters")
    g.add_argument("--alphabet", metavar="CHARS", help="items use only these characters")
    g.add_argument("--not-in-train", action="store_true", help="only items not in the training set")
    g.add_argument("--unique", action="store_true", help="no item twice")
    g.add_argument("--exclude", metavar="FILE", help="never return an item listed in FILE (one per line)")
    g.add_argument(
        "--enforce",
        choices=["auto", "mask", "reject"],
        default="auto",
        help="how --ends-with/--contains are met: resample while affordable, then mask "
        "(auto); always mask; only resample (exact, may run out of --budget)",
    )
    g.add_argument(
        "--budget",
        type=int,
        help="most items drawn to satisfy the filters (default 100 per item, at most 200,000)",
    )
    g = p.add_argument_group("search")
    g.add_argument("--num-beams", type=int, help="beam search with this many beams (1: greedy)")
    g.add_argument(
        "--length-penalty",
        type=float,
        default=0.0,
        help="beam score = log p / tokens ** this (0: likelihood, 1: per character)",
    )
    g.add_argument(
        "--best-of", type=int, default=1, metavar="N", help="draw N per item, keep the best by --score"
    )
    g.add_argument(
        "--score",
        metavar="SPEC",
        help="scorer(s) with weights, e.g. loglik_per_char (default), "
        "novelty, ratio:RUN_B, 'loglik:1,novelty:0.5'",
    )
    g.add_argument(
        "--refine",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="rewrite each item from its least likely character, keep it if --score improves",
    )


@command("sample", "generate items from a trained run, with constraints and search", _add_sample)
def cmd_sample(args: argparse.Namespace) -> int:
    from charloom.data.corpus import parse_lines, read_text_file
    from charloom.run import load_run

    run = load_run(args.run, weights=args.weights)
    exclude = parse_lines(read_text_file(args.exclude), args.exclude) if args.exclude else ()
    samples = run.sample(
        n=args.n,
        seed=args.seed,
        category=args.category,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        prefix=args.prefix,
        max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens,
        starts_with=args.starts_with,
        ends_with=args.ends_with,
        contains=args.contains,
        regex=args.regex,
        min_len=args.min_len,
        max_len=args.max_len,
        alphabet=args.alphabet,
        not_in_train=args.not_in_train,
        unique=args.unique,
        exclude=exclude,
        budget=args.budget,
        enforce=args.enforce,
        num_beams=args.num_beams,
        length_penalty=args.length_penalty,
        best_of=args.best_of,
        score=args.score,
        refine=args.refine,
    )
    if not samples:
        raise CharloomError(
            f"no item satisfied the constraints ({samples.summary()}); loosen them or raise --budget"
        )
    if args.output:
        text = "\n".join(s.text for s in samples) + "\n"
        Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        emit_json(
            [
                {
                    "text": s.text,
                    "new": s.new,
                    "logprob": s.logprob,
                    "nll_per_char": s.nll_per_char,
                    "finished": s.finished,
                    "score": s.score,
                }
                for s in samples
            ]
        )
    elif run.format == "text":
        for s in samples:
            print(s.text)
    else:
        for s in samples:
            score = "" if s.score is None else f"\t{s.score:.4f}"
            print(f"{s.text}\t{'new' if s.new else 'seen'}\t{s.nll_per_char:.3f}{score}")
    if not args.quiet:
        print(f"charloom: {samples.summary()}", file=sys.stderr)
    return 0


def _add_score(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("items", nargs="*", help="items to score")
    p.add_argument("--file", help="score every line of this file instead")
    p.add_argument("--bits", action="store_true", help="report in bits instead of nats")
    p.add_argument("--weights", choices=["model", "last"], default="model")
    p.add_argument("--json", action="store_true")


@command(
    "score",
    "how likely a run finds items: total and per-character NLL, surprisal of each character",
    _add_score,
)
def cmd_score(args: argparse.Namespace) -> int:
    from charloom.data.corpus import parse_lines, read_text_file
    from charloom.run import load_run

    if bool(args.items) == bool(args.file):
        raise CharloomError("give the items to score, or --file FILE (one item per line), not both")
    items = parse_lines(read_text_file(args.file), args.file) if args.file else args.items
    run = load_run(args.run, weights=args.weights)
    scores = run.score(items)
    unit = "bits" if args.bits else "nats"
    records = [s.to_json(unit) for s in scores]
    tokens = sum(s.num_tokens for s in scores)
    mean = sum(r["nll"] for r in records) / max(tokens, 1)
    if args.json:
        emit_json({"unit": unit, "items": records, "nll_per_char": mean, "tokens": tokens})
        return 0
    print(f"# item\tnll\tnll_per_char\tsurprisal of each character ({unit}; '.' is the end)")
    for r in records:
        surprisal = " ".join(
            f"{token if token.isprintable() else token.encode('unicode_escape').decode()}:{value:.2f}"
            for token, value in r["surprisal"]
        )
        print(f"{r['item']}\t{r['nll']:.4f}\t{r['nll_per_char']:.4f}\t{surprisal}")
    print(f"# all: {mean:.4f} {unit}/char over {tokens:,} characters")
    return 0


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("file", nargs="?", help="score this file instead of a split")
    p.add_argument("--split", choices=["train", "val", "test"], default="val", help="default: val")
    p.add_argument("--weights", choices=["model", "last"], default="model")
    p.add_argument("--json", action="store_true")


@command("eval", "mean NLL per character on a split or a file", _add_eval)
def cmd_eval(args: argparse.Namespace) -> int:
    from charloom.run import load_run

    result = load_run(args.run, weights=args.weights).evaluate(args.split, file=args.file)
    if args.json:
        emit_json(result)
    else:
        print(
            f"{result['data']}: {result['nll']:.4f} nats/char  {result['bpc']:.4f} bits/char  "
            f"perplexity {result['perplexity']:.3f}  ({result['tokens']:,} characters)"
        )
    return 0


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="a text file or an embedded dataset")
    p.add_argument("--format", choices=["lines", "text"], default="lines")
    p.add_argument("--top", type=int, default=10, help="how many common items to list")
    p.add_argument("--json", action="store_true")


@command("data", "look at a dataset: counts, alphabet, lengths, common items", _add_data)
def cmd_data(args: argparse.Namespace) -> int:
    from charloom.data.corpus import load_corpus
    from charloom.inspect.stats import corpus_stats, format_stats

    stats = corpus_stats(load_corpus(args.data, args.format), top=args.top)
    emit_json(stats) if args.json else print(format_stats(stats))
    return 0


def _add_json_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


@command("datasets", "list the embedded datasets", _add_json_only)
def cmd_datasets(args: argparse.Namespace) -> int:
    from charloom.data.datasets import list_datasets

    sets = [dataclasses.asdict(info) for info in list_datasets()]
    if args.json:
        emit_json(sets)
        return 0
    for info in sets:
        cats = f", {len(info['categories'])} categories" if info["categories"] else ""
        print(f"{info['name']:<24} {info['items']:>8,} items{cats}  {info['description']}")
    return 0


@command("models", "list the model families with their options and defaults", _add_json_only)
def cmd_models(args: argparse.Namespace) -> int:
    from charloom.models.registry import FAMILIES, describe

    described = [describe(family) for family in FAMILIES]
    if args.json:
        emit_json(described)
        return 0
    width = max(len(option["name"]) + 2 for d in described for option in d["options"])
    for d in described:
        print(f"{d['family']}  ({d['layout']})  {d['summary']}")
        for option in d["options"]:
            flag = "--" + option["name"].replace("_", "-")
            print(f"    {flag:<{width}} default {option['default']!s:<10} {option['help']}")
    return 0


def _add_neurons(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder (recurrent or transformer for pages and discovery)")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--text", metavar="FILE", help="text to read the units along (default: the val split)"
    )
    source.add_argument("--prefix", metavar="STR", help="read the units along this string")
    p.add_argument("--output", metavar="PAGE.html", help="write the neuron page here")
    p.add_argument(
        "--max-chars", type=int, default=2000, help="read at most this many characters (default 2000)"
    )
    p.add_argument(
        "--discover", action="store_true", help="list the units that correlate best with features of the text"
    )
    p.add_argument(
        "--feature",
        action="append",
        default=[],
        metavar="NAME=REGEX",
        help="an extra feature: characters inside a match of REGEX are 1 (repeatable)",
    )
    p.add_argument("--top", type=int, default=3, help="units listed per feature (default 3)")
    p.add_argument("--embeddings", metavar="PLOT.png", help="write a PCA plot of the character embeddings")
    p.add_argument(
        "--samples-timeline",
        nargs="?",
        const="",
        metavar="PAGE.html",
        help="write the samples taken during training as a timeline (default RUN/samples.html)",
    )
    p.add_argument("--weights", choices=["model", "last"], default="model")
    p.add_argument("--json", action="store_true", help="print what was found and written as JSON")


@command(
    "neurons",
    "look inside a run: neuron page, interpretable units, embeddings, samples through training",
    _add_neurons,
)
def cmd_neurons(args: argparse.Namespace) -> int:
    from charloom.inspect import neurons
    from charloom.inspect.inside import inspect_run

    if not (args.output or args.discover or args.embeddings or args.samples_timeline is not None):
        raise CharloomError(
            "say what to make: --output PAGE.html, --discover, --embeddings PLOT.png or --samples-timeline"
        )
    if args.max_chars < 1 or args.top < 1:
        raise CharloomError("--max-chars and --top must be at least 1")
    result = inspect_run(
        args.run,
        text_file=args.text,
        prefix=args.prefix,
        output=args.output,
        max_chars=args.max_chars,
        discover=args.discover,
        features=args.feature,
        top=args.top,
        embeddings=args.embeddings,
        samples_timeline=args.samples_timeline,
        weights=args.weights,
    )
    if args.json:
        emit_json(result)
        return 0
    if "findings" in result and args.discover:
        print(neurons.format_findings(result["findings"]))
    for key in ("page", "embeddings", "samples_timeline"):
        if key in result:
            print(f"wrote {result[key]}")
    return 0


def _add_diagnose(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="the report's path, figures and checks as JSON")


@command("diagnose", "plots and an HTML report of a run's training dynamics, with checks", _add_diagnose)
def cmd_diagnose(args: argparse.Namespace) -> int:
    from charloom.inspect.diagnose import diagnose

    diagnosis = diagnose(args.run)
    if args.json:
        emit_json(
            {
                "report": diagnosis.report,
                "plots": diagnosis.plots,
                "probed": diagnosis.probed,
                "findings": [f.to_json() for f in diagnosis.findings],
            }
        )
        return 0
    for finding in diagnosis.findings:
        print(finding.line())
    print(f"{len(diagnosis.plots)} figures in {diagnosis.report.parent / 'plots'}")
    print(f"report: {diagnosis.report}")
    return 0


def _add_init_sim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=int, default=100, help="number of layers (default 100)")
    p.add_argument("--width", type=int, default=512, help="units per layer (default 512)")
    p.add_argument(
        "--init",
        default="xavier",
        help="normal: N(0,1); scaled: N(0,1)/divisor; xavier: "
        "1/sqrt(fan_in); kaiming: gain/sqrt(fan_in) (default xavier)",
    )
    p.add_argument("--activation", default="linear", help="linear (default), tanh or relu")
    p.add_argument("--divisor", type=float, default=100.0, help="the divisor of --init scaled (default 100)")
    p.add_argument("--batch", type=int, default=64, help="input vectors (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE.png", help="also plot the std per layer to this PNG")
    p.add_argument("--json", action="store_true", help="the experiment as JSON, std per layer under 'std'")


@command(
    "init-sim", "initialisation through depth: the std of activations after each random layer", _add_init_sim
)
def cmd_init_sim(args: argparse.Namespace) -> int:
    from charloom.inspect.init import format_init_sim, simulate_init

    result = simulate_init(
        args.depth, args.width, args.init, args.activation, args.batch, args.seed, args.divisor
    )
    if args.plot:
        from charloom.inspect.plots import plot_init_sim

        plot_init_sim([result.to_json()], Path(args.plot))
    if args.json:
        emit_json(result.to_json())
    else:
        print(format_init_sim(result))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def build_parser() -> Parser:
    from charloom.version import __version__

    parser = Parser(
        prog="charloom",
        description="Character-level generative models: learn from names or text, make more of the same.",
    )
    parser.add_argument("--version", action="version", version=f"charloom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (add_arguments, _, help_text) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        if not argv:
            argv = ["--help"]
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command][1](args)
    except CharloomError as exc:
        print(f"charloom: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("charloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


# -- style transfer: run groups, judges, the transfer table ------------------------------------
def _add_train_categories(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        help="a categorized embedded set (names-by-country, fullnames-by-country), "
        "a file of category<TAB>item lines, or a folder with one file per category",
    )
    p.add_argument("--model", default="mlp", help="model family for every category (default mlp)")
    p.add_argument("--out", required=True, help="the run group folder")
    p.add_argument("--categories", help="comma-separated categories to keep (default: all)")
    p.add_argument("--keep-accents", action="store_true", help="keep accents instead of folding to a-z")
    p.add_argument(
        "--condition",
        choices=["category"],
        help="one model for all categories, told which by a category token (see "
        "charloom.data.conditions), instead of one run per category",
    )
    p.add_argument("--split-seed", type=int, default=42, help="seed of each category's split shuffle")
    p.add_argument("--classifier-steps", type=int, default=150, help="training steps of the classifier")
    p.add_argument("--force", action="store_true", help="replace an existing group in --out")
    p.add_argument("--json", action="store_true", help="print the group and classifier figures as JSON")
    add_train_options(p)
    add_model_options(p)


def _split_list(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@command("train-categories", "train one run per category, and a category classifier", _add_train_categories)
def cmd_train_categories(args: argparse.Namespace) -> int:
    from charloom.judge.classifier import ClassifierConfig, format_confusion
    from charloom.transfer.group import train_group

    log = (lambda message: print(message, file=sys.stderr)) if args.json else print
    group = train_group(
        args.data,
        args.model,
        out=args.out,
        categories=_split_list(args.categories),
        keep_accents=args.keep_accents,
        condition=args.condition,
        model_options=collect_model_options(args, args.model),
        classifier=ClassifierConfig(steps=args.classifier_steps),
        split_seed=args.split_seed,
        force=args.force,
        log=log,
        **train_options(args, args.model),
    )
    figures = json.loads((group.path / "classifier.json").read_text(encoding="utf-8"))["figures"]
    if args.json:
        emit_json(
            {
                "group": str(group.path),
                "categories": group.run_folders,
                "classifier_accuracy": figures["accuracy"],
                "classifier": figures,
            }
        )
    else:
        print(f"\nrun group {group.path}: {', '.join(group.categories)}")
        print(f"classifier held-out accuracy {figures['accuracy']:.3f} ({figures['items']:,} test items)")
        print(format_confusion(figures))
    return 0


def _add_transfer(p: argparse.ArgumentParser) -> None:
    p.add_argument("group", help="a run group made by `charloom train-categories`")
    p.add_argument("--seeds", nargs="+", default=[], help="names whose start seeds every generator")
    p.add_argument("--cut", default="0.5", help="fractions of each name to keep as seed (default 0.5)")
    p.add_argument("--category", help="only this generator (default: every category)")
    p.add_argument("--samples", type=int, default=1, help="completions per cell (default 1)")
    p.add_argument(
        "--best-of",
        type=int,
        default=1,
        help="each completion is the best of N draws by the likelihood-ratio judge",
    )
    p.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--format", choices=["text", "md", "csv", "html"], default="text")
    p.add_argument("--output", help="write the table to this file")
    p.add_argument(
        "--evaluate", action="store_true", help="the transfer score over held-out names instead of a table"
    )
    p.add_argument("--max-names", type=int, default=20, help="held-out names per category for --evaluate")
    p.add_argument("--json", action="store_true", help="JSON output")


@command("transfer", "complete the start of names with each category's generator; score it", _add_transfer)
def cmd_transfer(args: argparse.Namespace) -> int:
    from charloom.transfer.complete import parse_cuts
    from charloom.transfer.group import load_group

    group = load_group(args.group)
    cuts = parse_cuts(args.cut)
    if args.evaluate:
        return _transfer_evaluate(args, group, cuts)
    if not args.seeds:
        raise CharloomError("give names with --seeds, or --evaluate for the transfer score")
    from charloom.transfer.render import render
    from charloom.transfer.table import transfer_table

    rows = transfer_table(
        group,
        args.seeds,
        cuts,
        samples=args.samples,
        best_of=args.best_of,
        temperature=args.temperature,
        seed=args.seed,
        categories=[args.category] if args.category else None,
    )
    if args.json:
        emit_json(
            [
                {
                    "name": r.name,
                    "cut": r.cut,
                    "seed": r.seed,
                    "cells": {c: [dataclasses.asdict(x) for x in v] for c, v in r.cells.items()},
                }
                for r in rows
            ]
        )
        return 0
    text = render(rows, args.format)
    if args.output:
        Path(args.output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def _transfer_evaluate(args: argparse.Namespace, group, cuts: list[float]) -> int:
    from charloom.transfer.score import DECODINGS, transfer_score

    if args.max_names < 1:
        raise CharloomError(f"--max-names must be at least 1, got {args.max_names}")
    best_of = args.best_of if args.best_of > 1 else 8
    result = transfer_score(
        group,
        cuts,
        max_names=args.max_names,
        best_of=best_of,
        temperature=args.temperature or 1.0,
        seed=args.seed,
    )
    if args.json:
        emit_json(result)
        return 0
    names = {"greedy": "greedy", "sampled": "sampled", "best_of_n": f"best of {best_of}"}
    print(f"transfer score ({result['completions']:,} seeds per decoding; classifier-judged)")
    print(f"{'':<14}" + "".join(f"{names[d]:>12}" for d in DECODINGS) + f"{'ceiling':>10}")
    ceiling = result["ceiling_accuracy_by_category"]
    for generator, scores in result["score_by_generator"].items():
        row = "".join(_pct(scores[d]) for d in DECODINGS)
        print(f"{generator:<14}{row}{_pct(ceiling.get(generator), 10)}")
    for cut, scores in result["score_by_cut"].items():
        print(f"{'cut ' + cut:<14}" + "".join(_pct(scores[d]) for d in DECODINGS))
    print(
        f"{'overall':<14}"
        + "".join(_pct(result["transfer_score"][d]) for d in DECODINGS)
        + _pct(result["classifier_accuracy"], 10)
    )
    return 0


def _pct(value: float | None, width: int = 12) -> str:
    return f"{'-' if value is None else f'{value:.3f}':>{width}}"
