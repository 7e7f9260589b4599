"""An LSTM trained on code and read along code it never trained on: for each feature of
the text (bracket depth, indentation, inside a string, ...) the unit that follows it best,
chosen on the first half of the held-out passage and scored on the second, as
``charloom neurons RUN --text F --discover`` reports it; and the best bracket-depth or
indentation unit drawn along a passage, as the slides show Karpathy's cells of the LSTM
that read the Linux source (the char-RNN post).

    python bench/code_neurons.py --budget 600 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import charloom_json, charloom_train, report, scratch

from charloom.rundir import RunDir

GRADED = ("bracket_depth", "indent")  # the units the slides point at in code


def neurons(run: Path, text: Path, *options: str) -> dict:
    return charloom_json("neurons", str(run), "--text", str(text), *options)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=600.0, help="seconds of training")
    p.add_argument(
        "--chars", type=int, default=20_000, help="held-out characters read (half to choose, half to score)"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--charloom-args", default="", help="extra options for charloom train")
    p.add_argument("--json", action="store_true")
    p.add_argument("--write", metavar="FILE.md")
    args = p.parse_args()

    work = scratch()
    run = work / "run"
    options = ["--format", "text", "--model", "lstm", "--time-budget", f"{args.budget:g}"]
    options += args.charloom_args.split()
    result, info = charloom_train("python-stdlib", run, options, args.threads)
    heldout = RunDir(run).split_text("test")[: args.chars]  # code the run neither trained nor chose on
    text = work / "heldout.py"
    text.write_text(heldout, encoding="utf-8")
    found = neurons(run, text, "--discover", "--top", "1", "--max-chars", str(len(heldout)))

    config = info["model"]["config"]
    model = f"lstm {config['n_layer']} x {config['hidden']}, {result['step']:,} steps"
    model += f", test NLL {result['test_nll']:.4f} nats/char"
    rows = []
    for finding in found["findings"]:
        for unit in finding["units"]:
            rows.append({
                "feature": finding["feature"],
                "unit": f"{unit['quantity']}:{unit['layer']}:{unit['unit']}",
                "r_fit": unit["r"],
                "r_heldout": unit["r_heldout"],
            })  # fmt: skip
    graded = [row for row in rows if row["feature"] in GRADED and row["r_heldout"] is not None]
    best = max(graded, key=lambda row: abs(row["r_heldout"]))
    passage = work / "passage.py"  # from the scored half, where the unit was not chosen
    passage.write_text(heldout[len(heldout) // 2 :][:1200], encoding="utf-8")
    docs = Path(args.write).parent if args.write else work
    figure = docs / "figures" / "code-unit.png"  # beside the tables that cite it
    figure.parent.mkdir(exist_ok=True)
    neurons(run, passage, "--unit", best["unit"], "--unit-png", str(figure))
    share = found["interpretable"]
    notes = (
        f"{model} (`charloom train python-stdlib {' '.join(options)}`), read along the first "
        f"{len(heldout):,} characters of its test split. "
        f"r_fit: Pearson r over the first half; r_heldout: over the second. "
        f"{share['tracking']} of {share['units']} units ({share['share']:.1%}) track some feature with "
        f"held-out |r| >= {share['threshold']}. The best graded unit, {best['feature']} "
        f"({best['unit']}, held-out r {best['r_heldout']:+.3f}), along held-out code "
        f"(red above 0, blue below):\n\n![{best['feature']} unit]({figure.relative_to(docs).as_posix()})"
    )
    report(
        rows,
        args,
        section="code-neurons",
        title="Units of an LSTM trained on code, on held-out code (bench/code_neurons.py)",
        notes=notes,
    )


if __name__ == "__main__":
    main()
