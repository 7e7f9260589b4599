"""Style transfer benchmark: train a run group on an embedded categorized set, train the
classifier, and print the classifier's held-out accuracy and confusion matrix and the
transfer scores (greedy, sampled, best-of-N) per cut.

    nice -n 10 python bench/transfer.py                       # the full run
    nice -n 10 python bench/transfer.py --time-budget 20 --max-names 10   # a quick look

The figure to watch: best-of-N at cut 0.5, against plain sampling and the ceiling (the
classifier's accuracy on real held-out names).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import scratch  # noqa: E402

from charloom.judge.classifier import format_confusion  # noqa: E402
from charloom.transfer.group import train_group  # noqa: E402
from charloom.transfer.score import DECODINGS, transfer_score  # noqa: E402

WELL_SEPARATED = "english,italian,turkish,hungarian,icelandic"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="fullnames-by-country")
    p.add_argument("--categories", default=WELL_SEPARATED)
    p.add_argument("--model", default="gru")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--time-budget", type=float, default=60, help="training seconds per category")
    p.add_argument("--max-names", type=int, default=20)
    p.add_argument("--best-of", type=int, default=8)
    p.add_argument("--cuts", default="0.25,0.5,0.75")
    p.add_argument("--out", help="group folder (default: a scratch folder)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out) if args.out else scratch() / "group"
    started = time.perf_counter()
    options = {"hidden": args.hidden, "n_layer": 1} if args.model in ("rnn", "gru", "lstm") else {}
    group = train_group(
        args.data,
        args.model,
        out=out,
        categories=args.categories.split(","),
        model_options=options,
        time_budget=args.time_budget,
        eval_every=200,
        num_samples=0,
        force=True,
        log=lambda message: None,
    )
    trained = time.perf_counter() - started
    cuts = [float(c) for c in args.cuts.split(",")]
    result = transfer_score(group, cuts, max_names=args.max_names, best_of=args.best_of)
    result.update(
        {
            "group": str(out),
            "train_seconds": round(trained, 1),
            "score_seconds": round(time.perf_counter() - started - trained, 1),
        }
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    figures = json.loads((out / "classifier.json").read_text(encoding="utf-8"))["figures"]
    print(f"group {out} ({args.model}, {args.time_budget:g}s per category; trained in {trained:.0f}s)")
    print(f"classifier held-out accuracy {figures['accuracy']:.3f} on {figures['items']:,} test items")
    print(format_confusion(figures))
    print(f"\ntransfer score ({args.max_names} held-out names per source, best of {args.best_of})")
    print("| cut | " + " | ".join(DECODINGS) + " |\n|---|---|---|---|")
    for cut, scores in [*result["score_by_cut"].items(), ("all", result["transfer_score"])]:
        print(f"| {cut} | " + " | ".join(f"{scores[d]:.3f}" for d in DECODINGS) + " |")
    print(f"ceiling (classifier accuracy on real held-out names): {result['classifier_accuracy']:.3f}")


if __name__ == "__main__":
    main()
