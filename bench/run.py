"""Every family's default config on the names file, side by side: training speed and
quality under one time budget, and sampling speed.

    python bench/run.py [--budget 60] [--families transformer,lstm] [--threads N]
                        [--makemore DIR] [--write docs/benchmarks.md] [--json]

Per family: parameters, optimiser steps, real (non-padding) training tokens per second,
MFU, the final val and test NLL (best-by-val checkpoint) and the seconds to sample
1,000 and 10,000 names through ``Run.sample``.

MFU (model FLOPs utilisation) = model FLOPs per second / this machine's fp32 matmul
peak. Model FLOPs follow the usual estimate 6 x N x real tokens (2 for the forward
multiply-add, 4 for the backward), with N the parameters that multiply (every weight but
the embedding tables, which are looked up); attention's score and mix FLOPs and padding
work are not counted, so this is the useful work only. The peak is measured in the same
run, at the same thread count: the best of several large ``torch.mm`` calls.

The transformer row is also set against its baselines (``baselines.py``), measured in the
same sitting at the same thread count: charloom's own model trained the naive way (padded
rows, makemore's 32 names a step), and, given ``--makemore DIR``, makemore's own script.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from baselines import makemore_tokens_per_second, naive_tokens_per_second
from common import load_average, parser, report, scratch

from charloom import load_corpus, train
from charloom.models.registry import FAMILIES

BASELINE_SECONDS = 30.0  # the baselines' steps are uniform: half a minute measures them
NAIVE_STEPS = 300
PEAK_SIZE = 1024  # a (1024 x 1024) @ (1024 x 1024) product: 2.1 GFLOP, big enough to hit peak


def matmul_peak(threads: int, repeats: int = 10) -> float:
    """fp32 FLOP/s of the best of ``repeats`` large matrix products at ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(PEAK_SIZE, PEAK_SIZE), torch.randn(PEAK_SIZE, PEAK_SIZE)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * PEAK_SIZE**3 / best


def multiplying_parameters(model: torch.nn.Module) -> int:
    """Parameters that take part in a matrix product: all but embedding tables."""
    looked_up = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    return sum(p.numel() for p in model.parameters() if id(p) not in looked_up)


def training_speed(metrics_file: Path) -> float | None:
    """Real tokens per second over the whole run: each eval window's figure weighted by its
    training seconds."""
    rows = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    tokens, seconds, previous = 0.0, 0.0, 0.0
    for row in rows:
        window = row["train_seconds"] - previous
        previous = row["train_seconds"]
        if row["tokens_per_s"]:
            tokens += row["tokens_per_s"] * window
            seconds += window
    return tokens / seconds if seconds else None


def sampling_seconds(run, n: int) -> float:
    start = time.perf_counter()
    run.sample(n=n, seed=0)
    return time.perf_counter() - start


def bench_family(family: str, args) -> dict:
    threads = args.threads
    run = train(
        args.data,
        family,
        out=scratch() / family,
        time_budget=args.budget,
        eval_every=args.eval_every,
        num_samples=0,
        threads=threads,
        log=lambda message: None,
    )
    status = run.info["status"]
    speed = training_speed(run.path / "metrics.jsonl")
    mfu = None
    if speed is not None:
        mfu = 6 * multiplying_parameters(run.model) * speed / matmul_peak(threads)
    torch.set_num_threads(threads)
    run.sample(n=10, seed=0)  # warm-up
    row = {
        "model": family,
        "parameters": run.model.num_parameters(),
        "threads": threads,
        "steps": status["step"],
        "real tokens/s": speed,
        "MFU": None if mfu is None else f"{100 * mfu:.1f}%",
        "val NLL": status["val_nll"],
        "test NLL": status["test_nll"],
        "1,000 names (s)": sampling_seconds(run, 1000),
        "10,000 names (s)": sampling_seconds(run, 10_000),
    }
    if family == "transformer" and speed is not None:
        names = load_corpus(args.data, "lines").items or []
        naive, parameters = naive_tokens_per_second(names, NAIVE_STEPS, threads)
        assert parameters == row["parameters"], "the baseline must be the same model"
        row.update({"naive tokens/s": naive, "vs naive": f"{speed / naive:.2f}x"})
        if args.makemore:
            other = makemore_tokens_per_second(args.makemore, args.data, names, BASELINE_SECONDS, threads)
            row.update({"makemore tokens/s": other, "vs makemore": f"{speed / other:.2f}x"})
        torch.set_num_threads(threads)
    return row


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=60.0, help="training seconds per family")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated families")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch threads for training and sampling (default: torch's, a thread per core)",
    )
    p.add_argument(
        "--makemore", metavar="DIR", help="a checkout of karpathy/makemore, to time its own script"
    )
    args = p.parse_args()
    before = load_average()
    rows = []
    for family in args.families.split(","):
        rows.append(bench_family(family, args))
        if not args.json:
            print(rows[-1], flush=True)
    notes = (
        f"Load average {before:.1f} at the start. The transformer's baselines (bench/baselines.py): "
        "the same model on padded rows at 32 names a step (naive), and makemore's own script when "
        "`--makemore DIR` is given."
    )
    section = "families-" + (
        "all" if args.families == ",".join(FAMILIES) else args.families.replace(",", "-")
    )
    report(rows, args, section, f"Every family for {args.budget:g} s (bench/run.py)", notes)


if __name__ == "__main__":
    main()
