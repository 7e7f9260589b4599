"""Style transfer measured where it was not tuned: one run group per category set, each
with its pooled generator and classifier, and the transfer score (greedy, sampled,
best-of-N) beside the ceiling (the classifier's accuracy on real held-out names), for
each contrast strength; the strength is chosen on the tuning set and confirmed on the
other.

    nice -n 10 python bench/transfer.py                                   # both sets, 60 s a category
    nice -n 10 python bench/transfer.py --time-budget 20 --max-names 10   # a quick look
    python bench/transfer.py --out /tmp/groups --reuse                    # score trained groups again

The figure to watch: best-of-N on the confirming set against its ceiling.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from common import parser, report, scratch

from charloom.transfer.group import load_group, train_group
from charloom.transfer.score import transfer_score

SETS = {
    "tune": "english,italian,turkish,hungarian,icelandic",
    "confirm": "czech,french,german,spanish,swedish",
}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(data="fullnames-by-country")
    p.add_argument("--tune", default=SETS["tune"], help="the categories the settings are chosen on")
    p.add_argument("--confirm", default=SETS["confirm"], help="the categories they are confirmed on")
    p.add_argument("--model", default="gru")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--time-budget", type=float, default=60, help="training seconds per category")
    p.add_argument("--max-names", type=int, default=20, help="held-out names per source category")
    p.add_argument("--best-of", type=int, default=64)
    p.add_argument("--cuts", default="0.25,0.5,0.75")
    p.add_argument("--contrast", default="0,0.5,1,2", help="strengths tried on the tuning set")
    p.add_argument("--out", help="folder of the groups (default: a scratch folder)")
    p.add_argument("--reuse", action="store_true", help="score groups already in --out")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out) if args.out else scratch()
    cuts = args.cuts.split(",")
    strengths = [float(a) for a in args.contrast.split(",")]
    rows = []
    tuned = None
    for name, categories in (("tune", args.tune), ("confirm", args.confirm)):
        group, seconds = group_for(args, out / name, categories)
        tried = strengths if name == "tune" else sorted({0.0, tuned})
        for alpha in tried:
            started = time.perf_counter()
            result = transfer_score(
                group, cuts, max_names=args.max_names, best_of=args.best_of, contrast=alpha
            )
            scores = result["transfer_score"]
            rows.append(
                {
                    "set": name,
                    "categories": categories.replace(",", ", "),
                    "contrast": alpha,
                    "greedy": scores["greedy"],
                    "sampled": scores["sampled"],
                    f"best of {args.best_of}": scores["best_of_n"],
                    "ceiling": result["classifier_accuracy"],
                    "best-of below ceiling": result["classifier_accuracy"] - scores["best_of_n"],
                    "names": result["completions"],
                    "train s": seconds,
                    "score s": round(time.perf_counter() - started),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        if name == "tune":
            tuned = max((r for r in rows if r["set"] == "tune"), key=lambda r: r[f"best of {args.best_of}"])[
                "contrast"
            ]
    notes = (
        f"{args.model} ({args.hidden} hidden) per category and pooled, {args.time_budget:g} s each, on "
        f"{args.data}; {args.max_names} held-out names per source category, cuts {args.cuts}. The "
        f"contrast strength is the best of {args.contrast} on the tuning set ({tuned:g}), then "
        "used unchanged on the confirming set. The ceiling is the classifier's accuracy on real "
        "held-out names of the set."
    )
    report(rows, args, "transfer", "Style transfer, tuned and confirmed (bench/transfer.py)", notes)


def group_for(args, folder: Path, categories: str):
    """The set's group: trained now, or read back with --reuse."""
    if args.reuse and (folder / "group.json").exists():
        return load_group(folder), None
    started = time.perf_counter()
    options = {"hidden": args.hidden, "n_layer": 1} if args.model in ("rnn", "gru", "lstm") else {}
    group = train_group(
        args.data,
        args.model,
        out=folder,
        categories=categories.split(","),
        model_options=options,
        time_budget=args.time_budget,
        eval_every=200,
        num_samples=0,
        force=True,
        log=lambda message: None,
    )
    return group, round(time.perf_counter() - started)


if __name__ == "__main__":
    main()
