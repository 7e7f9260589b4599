"""Every family's default config on the names file, side by side: training speed and
quality under one time budget, and sampling speed.

    python bench/run.py [--budget 60] [--json] [--families transformer,lstm] [--threads N] [--data FILE]

Per family: parameters, optimiser steps, real (non-padding) training tokens per second,
MFU, the final val and test NLL (best-by-val checkpoint) and the seconds to sample
1,000 and 10,000 names. The table also goes to bench/out/results.md, which the README
quotes.

MFU (model FLOPs utilisation) = model FLOPs per second / this machine's fp32 matmul
peak. Model FLOPs follow the usual estimate 6 x N x real tokens (2 for the forward
multiply-add, 4 for the backward), with N the parameters that multiply (every weight but
the embedding tables, which are looked up); attention's score and mix FLOPs and padding
work are not counted, so this is the useful work only. The peak is measured in the same
run, at the same thread count: the best of several large ``torch.mm`` calls.

The transformer row is also set against makemore's own training loop on the same model
(bench/makemore.py: padded rows of 32 names a step, its written-out GPT), timed in the same
process at the same thread count: ``makemore_tokens_per_s`` and the ratio ``vs_makemore``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # runs without installing

import makemore  # noqa: E402
from common import REPO, parser, report, scratch  # noqa: E402

from charloom import load_corpus, train  # noqa: E402
from charloom.models.registry import FAMILIES  # noqa: E402

OUT = REPO / "bench" / "out" / "results.md"
MAKEMORE_SECONDS = 30.0  # the baseline's steps are uniform: half a minute measures them
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


def bench_family(family: str, data: str, budget: float, eval_every: int, threads: int) -> dict:
    run = train(
        data,
        family,
        out=scratch() / family,
        time_budget=budget,
        eval_every=eval_every,
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
        "tokens_per_s": speed,
        "mfu": mfu,
        "val_nll": status["val_nll"],
        "test_nll": status["test_nll"],
        "sample_1k_s": sampling_seconds(run, 1000),
        "sample_10k_s": sampling_seconds(run, 10_000),
    }
    if family == "transformer" and speed is not None:
        names = load_corpus(data, "lines").items or []
        baseline, parameters, _ = makemore.tokens_per_second(names, min(budget, MAKEMORE_SECONDS))
        assert parameters == row["parameters"], "the baseline must be the same model"
        row.update({"makemore_tokens_per_s": baseline, "vs_makemore": speed / baseline})
    return row


def markdown(rows: list[dict], command: str, load_before: float, load_after: float) -> str:
    lines = [
        f"`{command}`",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}; 1-minute load average {load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| model | parameters | threads | steps | real tokens/s | MFU | val NLL | test NLL "
        "| sample 1k (s) | sample 10k (s) |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        mfu = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
        speed = "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:,.0f}"
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['threads']} | {r['steps']:,} | {speed} "
            f"| {mfu} | {r['val_nll']:.4f} | {r['test_nll']:.4f} | {r['sample_1k_s']:.3f} "
            f"| {r['sample_10k_s']:.3f} |"
        )
    for r in rows:
        if "vs_makemore" in r:
            lines += [
                "",
                f"makemore's training loop on the same {r['model']} (bench/makemore.py), "
                f"same process and threads: {r['makemore_tokens_per_s']:,.0f} real tokens/s; charloom "
                f"{r['tokens_per_s']:,.0f}, {r['vs_makemore']:.1f}x.",
            ]
    return "\n".join(lines) + "\n"


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
    args = p.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    for family in args.families.split(","):
        rows.append(bench_family(family, args.data, args.budget, args.eval_every, args.threads))
        if not args.json:
            print(rows[-1], flush=True)
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(markdown(rows, command.strip(), load_before, os.getloadavg()[0]))
    report(rows, args.json)


if __name__ == "__main__":
    main()
