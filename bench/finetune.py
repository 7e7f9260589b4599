"""What starting from a trained run buys: a few hundred names of one country, the
transformer fine-tuned from a run trained on `names` (``--init-from``) against the same
model trained from scratch, for the same seconds; and the fine-tuning rate that does best.

    python bench/finetune.py [--parent RUN] [--budget 30] [--size 300] \
        [--categories french,icelandic,turkish,hungarian] [--scales 0.1,0.3,1] [--write docs/benchmarks.md]

Each category's names (folded to a-z as the dataset gives them; ``--keep-accents`` keeps
letters the parent never saw) are a seeded sample of ``names-by-country``, split 80/10/10
by charloom; each row's NLL is on that category's own validation names, at the best of
evaluations every ``--eval-every`` steps. Without ``--parent`` a parent is trained on
`names` for ``--parent-budget`` seconds first. The fine-tuned runs take the rate a new run
would take times each of ``--scales``; the column ``default`` is what ``--init-from``
takes unasked (``FINE_TUNE_LR_SCALE``).
"""

from __future__ import annotations

import random

from common import parser, report, scratch

from charloom import train
from charloom.data.datasets import dataset_text
from charloom.train.config import FINE_TUNE_LR_SCALE

QUIET = {"num_samples": 0, "log": lambda message: None}


def category_file(category: str, size: int, folder, keep_accents: bool) -> tuple[object, int]:
    """A seeded sample of ``size`` names of ``category``, written to a file."""
    text = dataset_text("names-by-country", keep_accents=keep_accents)
    rows = (line.split("\t") for line in text.splitlines())
    names = sorted({name for cat, name in rows if cat == category})
    if not names:
        raise SystemExit(f"no category {category!r} in names-by-country")
    chosen = random.Random(0).sample(names, min(size, len(names)))
    path = folder / f"{category}.txt"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path, len(chosen)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--parent", help="a run trained on names to start from (default: train one)")
    p.add_argument(
        "--parent-budget", type=float, default=300.0, help="seconds for the parent, if trained here"
    )
    p.add_argument("--budget", type=float, default=30.0, help="training seconds of each run on a category")
    p.add_argument("--size", type=int, default=300, help="names per category")
    p.add_argument("--categories", default="french,icelandic,turkish,hungarian")
    p.add_argument("--scales", default="0.1,0.3,1", help="fine-tuning rates, as fractions of a new run's")
    p.add_argument(
        "--keep-accents",
        action="store_true",
        help="keep accents (letters the parent never saw) instead of a-z",
    )
    p.add_argument("--eval-every", type=int, default=10, help="steps between evaluations (default 10)")
    p.add_argument("--threads", type=int, help="torch threads (default torch's)")
    args = p.parse_args()
    folder = scratch()
    # a few hundred names are learnt by heart within a few hundred steps: the best weights
    # by val are kept from evaluations close together
    timing = {"time_budget": args.budget, "threads": args.threads, "eval_every": args.eval_every, **QUIET}
    parent = args.parent
    if parent is None:
        parent = train("names", "transformer", out=folder / "parent", time_budget=args.parent_budget,
                       threads=args.threads, **QUIET).path  # fmt: skip
    scales = sorted({float(s) for s in args.scales.split(",")} | {FINE_TUNE_LR_SCALE})
    rows = []
    for category in args.categories.split(","):
        data, size = category_file(category, args.size, folder, args.keep_accents)
        fresh = train(data, "transformer", out=folder / f"{category}-fresh", **timing)
        row = {"category": category, "names": size, "scratch_val": fresh.info["status"]["val_nll"]}
        for scale in scales:
            lr = fresh.info["train"]["lr"] * scale
            tuned = train(data, init_from=parent, out=folder / f"{category}-{scale:g}", lr=lr, **timing)
            label = "default" if scale == FINE_TUNE_LR_SCALE else f"x{scale:g}"
            row[f"tuned_val_{label}"] = tuned.info["status"]["val_nll"]
        row["gain_default"] = row["scratch_val"] - row["tuned_val_default"]
        rows.append(row)
        print(row, flush=True)
    accents = "-accents" if args.keep_accents else ""
    report(
        rows,
        args,
        f"finetune{accents}",
        f"Fine-tuning from a names run against training from scratch, {args.budget:g} s each"
        + (", accents kept" if args.keep_accents else "")
        + " (bench/finetune.py)",
        notes=f"val NLL in nats per character; `default` is --init-from's own rate, "
        f"{FINE_TUNE_LR_SCALE:g} of a new run's; the other columns scale that new-run rate as named.",
    )


if __name__ == "__main__":
    main()
