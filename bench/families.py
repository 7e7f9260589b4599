"""Every gradient-trained family's default config on the makemore names file, each for
the same training-time budget, on the foundation's split: parameters, steps, real
tokens per second, best val NLL and the test NLL of that checkpoint.

    python bench/families.py [--budget 600] [--families wavenet,transformer,lstm,gru]
"""

from __future__ import annotations

import json

from common import parser, report, scratch

from charloom import train


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per family")
    p.add_argument("--families", default="wavenet,transformer,lstm,gru")
    p.add_argument("--eval-every", type=int, default=1000)
    args = p.parse_args()
    rows = []
    for family in args.families.split(","):
        run = train(
            args.data,
            family,
            out=scratch() / family,
            time_budget=args.budget,
            eval_every=args.eval_every,
            num_samples=0,
            log=lambda message: None,
        )
        status = run.info["status"]
        metrics = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
        speeds = [m["tokens_per_s"] for m in metrics if m["tokens_per_s"]]
        rows.append(
            {
                "model": family,
                "parameters": run.model.num_parameters(),
                "steps": status["step"],
                "tokens_per_s": sum(speeds) / max(len(speeds), 1),
                "train_s": status["train_seconds"],
                "best_step": status["best_step"],
                "val_nll": status["val_nll"],
                "test_nll": status["test_nll"],
            }
        )
        print(rows[-1], flush=True)
    report(
        rows, args, "families-budget", f"Every family's defaults for {args.budget:g} s (bench/families.py)"
    )


if __name__ == "__main__":
    main()
