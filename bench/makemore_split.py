"""A family's defaults on makemore's own split of the names file, beside charloom's split,
for the same training time: how much of a test figure is the split's.

makemore keeps duplicate lines (names.txt has 32,033 lines, 29,494 distinct names) and
holds out the first min(1000, 10%) of torch.randperm under seed 3407 as its test set, which
it also uses to pick the best checkpoint; names that occur twice can sit on both sides.
charloom de-duplicates, then cuts 80/10/10. A model scores a name it trained on better, so
the same model reads lower on makemore's split.

    python bench/makemore_split.py [--budget 600] [--family transformer] [--threads 1]
"""

from __future__ import annotations

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
    args = p.parse_args()
    items = load_corpus(args.data, "lines").items or []
    rows = []
    for name in args.splits.split(","):
        given = makemore_split(items) if name == "makemore" else None
        run = train(
            args.data,
            args.family,
            out=scratch() / name,
            time_budget=args.budget,
            threads=args.threads,
            num_samples=0,
            splits=given,
            log=lambda message: None,
        )
        status = run.info["status"]
        last = load_run(run.path, weights="last")
        rows.append(
            {
                "split": name,
                **run.info["data"]["splits"],
                "steps": status["step"],
                "best_step": status["best_step"],
                "val_nll": status["val_nll"],
                "test_nll": status["test_nll"],
                "last_test_nll": last.evaluate("test")["nll"],
                "notes": "; ".join(run.info["data"]["notes"]),
            }
        )
        print(rows[-1], flush=True)
    report(
        rows,
        args,
        "makemore-split",
        f"The {args.family} on makemore's split and on charloom's (bench/makemore_split.py)",
    )


if __name__ == "__main__":
    main()
