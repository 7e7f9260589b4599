"""``charloom train-categories`` and ``transfer``: one generator per category, each seeded
with the start of names from the others, judged by a classifier trained apart."""

from __future__ import annotations

import argparse
import json

from charloom import io
from charloom.cli.app import add_device, command, emit_json, say
from charloom.cli.options import model_options
from charloom.cli.train import SHARED, add_training_flags, training_options
from charloom.errors import CharloomError


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
    p.add_argument(
        "--no-pooled",
        dest="pooled",
        action="store_false",
        help="skip the pooled generator (one run on every category: the table's 'all' column)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing group in --out")
    p.add_argument("--json", action="store_true", help="print the group and classifier figures as JSON")
    add_training_flags(p)


def _split_list(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@command("train-categories", "train one run per category, and a category classifier", _add_train_categories)
def cmd_train_categories(args: argparse.Namespace) -> int:
    from charloom.judge.classifier import ClassifierConfig, format_confusion
    from charloom.transfer.group import train_group

    log = say if args.json else print
    group = train_group(
        args.data,
        args.model,
        out=args.out,
        categories=_split_list(args.categories),
        keep_accents=args.keep_accents,
        condition=args.condition,
        model_options=model_options(args, args.model, also=SHARED),
        classifier=ClassifierConfig(steps=args.classifier_steps),
        split_seed=args.split_seed,
        pooled=args.pooled,
        force=args.force,
        log=log,
        **training_options(args, args.model),
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
    add_device(p)
    p.add_argument(
        "--names",
        "--seeds",  # its first name, kept: "seed" is the random seed's word elsewhere
        dest="names",
        nargs="+",
        default=[],
        help="names whose start every generator continues",
    )
    p.add_argument(
        "--cut",
        default="0.5",
        help="how much of each name the generators are given, comma-separated: fractions (0.25), "
        "characters (2c, 4c) or first-word (default 0.5)",
    )
    p.add_argument("--category", help="only this generator (default: every category)")
    p.add_argument("--samples", type=int, default=1, help="completions per cell (default 1)")
    p.add_argument(
        "--best-of",
        type=int,
        help="each completion is the best of N draws by the likelihood-ratio judge (default 1; "
        "--evaluate: 8)",
    )
    p.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument(
        "--contrast",
        type=float,
        default=0.0,
        metavar="ALPHA",
        help="decode each generator against the pooled one: log q = (1+ALPHA) log p_category - "
        "ALPHA log p_all (default 0: the generator alone)",
    )
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

    group = load_group(args.group, device=args.device)
    cuts = parse_cuts(args.cut)
    if args.evaluate:
        return _transfer_evaluate(args, group, cuts)
    if not args.names:
        raise CharloomError("give names with --names, or --evaluate for the transfer score")
    from charloom.transfer.render import render
    from charloom.transfer.table import transfer_table

    rows = transfer_table(
        group,
        args.names,
        cuts,
        samples=args.samples,
        best_of=args.best_of,
        temperature=args.temperature,
        contrast=args.contrast,
        seed=args.seed,
        categories=[args.category] if args.category else None,
    )
    if args.json:
        emit_json([row.to_json() for row in rows])
        return 0
    text = render(rows, args.format)
    if args.output:
        io.atomic_write_bytes(args.output, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def _transfer_evaluate(args: argparse.Namespace, group, cuts: list[str]) -> int:
    from charloom.transfer.score import DECODINGS, transfer_score

    result = transfer_score(
        group,
        cuts,
        max_names=args.max_names,
        best_of=args.best_of,
        temperature=args.temperature,
        contrast=args.contrast,
        seed=args.seed,
    )
    if args.json:
        emit_json(result)
        return 0
    names = {"greedy": "greedy", "sampled": "sampled", "best_of_n": f"best of {result['best_of']}"}
    print(f"transfer score ({result['completions']:,} names per decoding; classifier-judged)")
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
