"""Foundation figures on the makemore names file, with the foundation's 80/10/10 split:

- count bigram (n=2, add-1): test NLL and fitting time (the floor is about 2.45);
- MLP (context 3, embedding 10, hidden 200, BatchNorm): val NLL after 120 s of training.

    python bench/foundation.py [--budget 120]
"""

from __future__ import annotations

import time

from common import parser, report, scratch

from charloom import train


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=120.0, help="MLP training seconds")
    args = p.parse_args()
    quiet = {"log": lambda message: None}
    rows = []

    start = time.perf_counter()
    run = train(args.data, "ngram", out=scratch() / "ngram", model_options={"n": 2}, **quiet)
    wall = time.perf_counter() - start
    status = run.info["status"]
    rows.append(
        {
            "model": "ngram n=2",
            "parameters": run.model.num_parameters(),
            "fit_s": status["train_seconds"],
            "wall_s": round(wall, 2),
            "val_nll": status["val_nll"],
            "test_nll": status["test_nll"],
        }
    )

    run = train(
        args.data,
        "mlp",
        out=scratch() / "mlp",
        time_budget=args.budget,
        eval_every=2000,
        model_options={"context": 3, "embedding": 10, "hidden": 200, "batchnorm": True},
        **quiet,
    )
    status = run.info["status"]
    rows.append(
        {
            "model": "mlp 3/10/200 BN",
            "parameters": run.model.num_parameters(),
            "steps": status["step"],
            "train_s": status["train_seconds"],
            "val_nll": status["val_nll"],
            "test_nll": status["test_nll"],
        }
    )
    report(rows, args, "foundation", "The count bigram and the lectures' MLP (bench/foundation.py)")


if __name__ == "__main__":
    main()
