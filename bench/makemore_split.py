"""A family's defaults on makemore's own split of the names file, beside charloom's split,
for the same training time: how much of a test figure is the split's.

makemore keeps duplicate lines (names.txt has 32,033 lines, 29,494 distinct names) and
holds out the first min(1000, 10%) of torch.randperm under seed 3407 as its test set, which
it also uses to pick the best checkpoint; names that occur twice can sit on both sides.
charloom de-duplicates, then cuts 80/10/10. A model scores a name it trained on better, so
the same model reads lower on makemore's split.

    python bench/makemore_split.py [--budget 600] [--family transformer] [--threads 1]
    python bench/makemore_split.py --budget 300 --splits makemore \
        --variant gpt2-adamw='{"model_options": {"position": "learned", "norm": "layernorm", ...}}'

Each ``--variant NAME=JSON`` adds a row per split trained with those options of
``charloom.train`` (``model_options`` among them); the default row is the family's
defaults.
"""

from __future__ import annotations

import json

import torch
from common import parser, report, scratch

from charloom import train
from charloom.data.corpus import load_corpus
from charloom.data.splits import Splits
from charloom.run import load_run


def makemore_split(items: list[str], seed: int = 3407) -> Splits:
    """makemore's create_datasets: a seeded permutation, the test set first."""
    test_size = min(1000, int(len(items) * 0.1))
    generator = torch.Generator().manual_seed(seed)  # torch.manual_seed(seed) then randperm, as makemore
    order = torch.randperm(len(items), generator=generator).tolist()
    test = [items[i] for i in order[:test_size]]
    train_items = [items[i] for i in order[test_size:]]
    return Splits(train=train_items, val=test, test=test)  # makemore selects on its test set


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per run")
    p.add_argument("--family", default="transformer")
    p.add_argument("--threads", type=int, help="torch threads (default torch's)")
    p.add_argument("--splits", default="makemore,charloom", help="which splits to run, in order")
    p.add_argument(
        "--variant", action="append", default=[], metavar="NAME=JSON", help="a row with these train() options"
    )
    args = p.parse_args()
    items = load_corpus(args.data, "lines").items or []
    variants = [("default", {})] + [parse_variant(text) for text in args.variant]
    rows = []
    for name in args.splits.split(","):
        for label, options in variants:
            rows.append(train_row(args, items, name, label, options))
            print(rows[-1], flush=True)
    report(
        rows,
        args,
        "makemore-split",
        f"The {args.family} on makemore's split and on charloom's (bench/makemore_split.py)",
    )


def parse_variant(text: str) -> tuple[str, dict]:
    label, _, options = text.partition("=")
    try:
        parsed = json.loads(options)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--variant {label}: not JSON ({exc})") from None
    return label, parsed


def train_row(args, items: list[str], name: str, label: str, options: dict) -> dict:
    """One training run on the ``name`` split, with the variant's options, as a row."""
    given = makemore_split(items) if name == "makemore" else None
    run = train(
        args.data,
        args.family,
        out=scratch() / f"{name}-{label}",
        time_budget=args.budget,
        threads=args.threads,
        num_samples=0,
        splits=given,
        log=lambda message: None,
        **options,
    )
    status = run.info["status"]
    last = load_run(run.path, weights="last")
    return {
        "split": name,
        "variant": label,
        **run.info["data"]["splits"],
        "steps": status["step"],
        "best_step": status["best_step"],
        "val_nll": status["val_nll"],
        "test_nll": status["test_nll"],
        "last_test_nll": last.evaluate("test")["nll"],
        "notes": "; ".join(run.info["data"]["notes"]),
    }


if __name__ == "__main__":
    main()
