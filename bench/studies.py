"""The lectures' experiments on their own names file, against the lectures' figures:
each built-in study run whole (``charloom study NAME --data ../shared/data/names.txt``),
its rows printed beside the reference and, with --write, put in docs/benchmarks.md.
The speedrun study reads running text instead (``--text``, char-rnn's tinyshakespeare).

    nice -n 10 python bench/studies.py --studies bigram,deep,init --write docs/benchmarks.md
    python bench/studies.py --studies init --scale 0.1          # a tenth of every run
    python bench/studies.py --studies speedrun --threads 2 --write docs/benchmarks.md
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import REFERENCE_NAMES, parser, report, scratch

from charloom.study.runner import run_study
from charloom.study.spec import load_study

FIGURES = {  # what each study is judged on: (our key, the seed's key, the heading)
    "bigram": [
        ("train_nll", "reference_train", "train"),
        ("first_loss", "reference_first_loss", "first loss"),
    ],
    "init": [("train_nll", "reference_train", "train"), ("val_nll", "reference_val", "val")],
    # the seed's first loss is one batch of 32 (noise about 0.05); the whole val split at
    # step 0 is the figure it estimates
    "deep": [
        ("first_loss", "reference_first_loss", "first batch"),
        ("initial_val", "reference_first_loss", "val at step 0"),
        ("update_log10", "", "log10 update:data, late (median of the matrices)"),
    ],
    "speedrun": [
        ("steps", "", "steps"),
        ("tokens_per_s", "", "tokens/s"),
        ("val_nll", "", "val"),
        ("test_nll", "", "test"),
    ],
}
TEXT_STUDIES = {"speedrun"}  # trained on --text, not on the names file


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--studies", default="bigram,deep,init")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument(
        "--text",
        default=str(REFERENCE_NAMES.parent / "tinyshakespeare.txt"),
        help="running text for the speedrun study (default: ../shared/data/tinyshakespeare.txt)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads for every run (default 1)")
    p.add_argument(
        "--out", help="folder of the studies (default: a scratch folder); finished runs are read back"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else scratch()
    for name in args.studies.split(","):
        started = time.perf_counter()
        study = load_study(name).scaled(args.scale)
        data = args.text if name in TEXT_STUDIES else args.data
        result = run_study(study, out / name, data=data, log=lambda message: None)
        rows = []
        for row in result["rows"]:
            line = {"run": row["name"]}
            for ours, theirs, heading in FIGURES.get(name, [("val_nll", "reference_val", "val")]):
                line[heading] = row.get(ours)
                if row.get(theirs) is not None:
                    line[f"seed {heading}"] = row[theirs]
                    line[f"{heading} minus seed"] = None if row.get(ours) is None else row[ours] - row[theirs]
            if row.get("layer_std"):
                line["activation std by layer, step 0"] = " ".join(f"{s:.3f}" for s in row["layer_std"])
            if row.get("diverged"):
                line["note"] = "diverged: " + row["diverged"].split(";")[0]
            rows.append(line)
        seconds = time.perf_counter() - started
        notes = (
            f"{study.notes} Scale {args.scale:g}; {args.threads} thread(s); "
            f"{seconds:.0f} s for the study on this machine."
        )
        report(rows, args, f"study-{name}", f"Study {name}: {study.about} (bench/studies.py)", notes)


if __name__ == "__main__":
    main()
