"""The same numbers before and after a change: every family trained for a few steps from
one seed, its step losses, split NLLs, samples (plain, top-k, beam search, best-of,
refined), scores and next-character probabilities, on names and on running text, as
JSON. Run it on two checkouts and compare:

    python bench/same_numbers.py --src OLD/src --out before.json
    python bench/same_numbers.py --src src --out after.json
    python bench/same_numbers.py --compare before.json after.json

Floats are kept whole (repr), so "the same" means bit for bit on this CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

FAMILIES = ("ngram", "bigram", "mlp", "wavenet", "rnn", "gru", "lstm", "transformer")
TEXT_FAMILIES = ("mlp", "lstm", "transformer")
STEPS = 25


def digest(charloom, family: str, data: Path, fmt: str, folder: Path) -> dict:
    """One family's figures on one corpus: everything a user reads from a short run."""
    run = charloom.train(str(data), family, out=folder / f"{family}-{fmt}", format=fmt, max_steps=STEPS,
                         batch_size=16, seed=1, eval_every=10, threads=1, log=lambda line: None)  # fmt: skip
    metrics = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    loaded = charloom.load_run(run.path)
    start = {"prefix": "an", "max_new_tokens": 40} if fmt == "text" else {}
    figures = {
        "losses": [m.get("step_losses") for m in metrics],
        "val": loaded.evaluate("val")["nll"],
        "samples": loaded.sample(n=6, seed=3, **start),
        "top_k": loaded.sample(n=4, seed=4, top_k=3, temperature=0.8, **start),
        "beam": loaded.sample(n=2, seed=5, num_beams=3, **start),
    }
    if fmt == "lines":
        figures["best_of"] = loaded.sample(n=2, seed=6, best_of=3)
        figures["refine"] = loaded.sample(n=2, seed=7, refine=1)
        figures["score"] = [repr(s.nll) for s in loaded.score(["anna", "zyx"])]
    figures["next"] = repr(loaded.next_chars("an"))
    return json.loads(json.dumps(figures, default=repr))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", help="the charloom source folder to import (OLD/src or src)")
    p.add_argument("--out", help="where the JSON goes")
    p.add_argument("--compare", nargs=2, metavar="JSON", help="two outputs to compare")
    args = p.parse_args()
    if args.compare:
        before, after = (json.loads(Path(f).read_text()) for f in args.compare)
        differ = [key for key in before if before[key] != after.get(key)]
        for key in before:
            print(f"{key:20s} {'same' if key not in differ else 'DIFFERENT'}")
        raise SystemExit(1 if differ else 0)
    sys.path.insert(0, str(Path(args.src).resolve()))
    import charloom

    folder = Path(tempfile.mkdtemp(prefix="charloom-same-"))
    names = folder / "names.txt"
    items = charloom.load_corpus("names").items
    names.write_text("\n".join(items[:3000]) + "\n")
    text = folder / "text.txt"
    text.write_text(" ".join(items[:6000]) + "\n")
    results = {f"{family} names": digest(charloom, family, names, "lines", folder) for family in FAMILIES}
    for family in TEXT_FAMILIES:
        results[f"{family} text"] = digest(charloom, family, text, "text", folder)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}: {len(results)} runs")


if __name__ == "__main__":
    main()
