"""Recurrent families on running text, trained the two ways for the same time: stateful
(each batch row reads its stretch of the text in order, the state carried across
windows, as char-rnn trains) and stateless (random windows, each from a zero state).
Both are scored on the same test split, by their own way of reading it (the stateful run
reads it in one pass with the state carried; the stateless one in windows from zero).

    python scripts/fetch_text.py
    python bench/stateful.py --budget 300 --family lstm --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse

from common import REPO, charloom_train, report, scratch


def train(corpus: str, family: str, budget: float, stateful: bool, threads: int) -> dict:
    options = ["--format", "text", "--model", family, "--time-budget", str(budget),
               "--stateful" if stateful else "--no-stateful"]  # fmt: skip
    result, info = charloom_train(corpus, scratch() / "run", options, threads)
    config = info["model"]["config"]
    return {
        "family": f"{family} {config['n_layer']} x {config['hidden']}",
        "stateful": stateful,
        "budget_s": budget,
        "steps": result["step"],
        "val_nll": result["val_nll"],
        "test_nll": result["test_nll"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--family", default="lstm", choices=("rnn", "gru", "lstm"))
    p.add_argument("--file", default=str(REPO / "data" / "text.txt"), help="a running text (data/text.txt)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--write", metavar="FILE.md")
    args = p.parse_args()
    rows = [train(args.file, args.family, args.budget, stateful, args.threads) for stateful in (True, False)]
    rows[0]["test_minus_stateless"] = rows[0]["test_nll"] - rows[1]["test_nll"]
    report(
        rows,
        args,
        section=f"stateful-{args.family}",
        title="Recurrent training on running text: state carried across windows, or not (bench/stateful.py)",
        notes="Nats per character; both runs read the same file in the same training time, the family's "
        "text defaults otherwise.",
    )


if __name__ == "__main__":
    main()
