"""Sampling speed: time to draw 1,000 and 10,000 names, against a naive decoder.

The model is a transformer of makemore's default size (4 layers, 4 heads, 64 wide, 16
characters of context) when charloom has the transformer family, else the lecture MLP
(context 3, embedding 10, hidden 200). It is trained briefly on the names so that its
names have realistic lengths (``--train-steps 0``: untrained, random weights, whose
names run long; the output says which).

- charloom: ``run.sample(n)``: batched steps read on from each family's state (key/value
  cache, window, hidden state), rows leaving the batch when they end;
- naive: makemore's loop: every step re-runs ``forward`` on the whole prefix (cropped to
  the context) for every row, finished or not, until all rows have ended;
- constrained: 1,000 names that start with 'a', end with 'n', have at most 8 letters,
  are not in the training set and are all different (masks, rejection, budget).

Each figure is the best of ``--repeats`` runs (the CPU is shared), at each thread count
of ``--threads`` (the naive decoder and the constrained run at the first one only).

    python bench/sampling.py [--train-steps 300] [--repeats 3] [--threads 1,2] [--skip-naive-10k]
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from common import parser, report, scratch

from charloom import train
from charloom.data.vocab import BOUNDARY_ID
from charloom.models.registry import FAMILIES

TARGETS = {1_000: 0.1, 10_000: 1.0}  # seconds


@torch.no_grad()
def naive_sample(model, n: int, max_new_tokens: int, generator: torch.Generator) -> torch.Tensor:
    """makemore's ``generate``: no cache, no early exit; stops once every row has ended."""
    context = model.context_size
    idx = torch.zeros(n, 1, dtype=torch.long)  # the start boundary
    ended = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_new_tokens):
        window = idx if context is None or idx.shape[1] <= context else idx[:, -context:]
        logits = model(window)[0][:, -1, :]  # (n, V)
        nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)  # (n, 1)
        idx = torch.cat([idx, nxt], dim=1)
        ended |= nxt.squeeze(1) == BOUNDARY_ID
        if bool(ended.all()):
            break
    return idx


def best_time(function, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def time_names(run, family: str, n: int, threads: int, args, naive: bool) -> dict:
    fast, samples = best_time(lambda: run.sample(n=n, seed=0), args.repeats)
    row = {
        "family": family,
        "names": n,
        "threads": threads,
        "charloom_s": fast,
        "names_per_s": n / fast,
        "mean_len": sum(len(s.text) for s in samples) / n,
        "target_s": TARGETS[n],
        "met": fast <= TARGETS[n],
    }
    if naive and (n == 1_000 or not args.skip_naive_10k):

        def naive_run():
            return naive_sample(run.model, n, 100, torch.Generator().manual_seed(0))

        slow, _ = best_time(naive_run, args.repeats if n == 1_000 else 1)
        row.update({"naive_s": slow, "speedup": slow / fast})
    return row


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--train-steps", type=int, default=300, help="training steps before timing (0: untrained)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per figure; the best is kept")
    p.add_argument("--skip-naive-10k", action="store_true", help="time the naive decoder on 1,000 names only")
    p.add_argument("--threads", default="1,2", help="torch thread counts to time, comma-separated")
    args = p.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    torch.set_num_threads(thread_counts[0])
    family = "transformer" if "transformer" in FAMILIES else "mlp"
    steps = max(args.train_steps, 1)
    run = train(
        args.data,
        family,
        out=scratch() / family,
        max_steps=steps,
        eval_every=steps,
        num_samples=0,
        log=lambda message: None,
    )
    if args.train_steps == 0:
        for parameter in run.model.parameters():  # back to the initial weights: untrained
            torch.nn.init.normal_(parameter, 0.0, 0.02)
    state = (
        f"trained {args.train_steps} steps (val NLL {run.info['status']['val_nll']:.3f})"
        if args.train_steps
        else "untrained (random weights; items run longer than real names)"
    )
    print(f"{family}, {run.model.num_parameters():,} parameters, {state}")
    rows = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for n in (1_000, 10_000):
            rows.append(time_names(run, family, n, threads, args, naive=threads == thread_counts[0]))
    torch.set_num_threads(thread_counts[0])
    constrained = {"starts_with": "a", "ends_with": "n", "max_len": 8, "not_in_train": True, "unique": True}
    fast, samples = best_time(lambda: run.sample(n=1_000, seed=0, **constrained), args.repeats)
    rows.append(
        {
            "family": family,
            "names": "1000 constrained",
            "threads": thread_counts[0],
            "charloom_s": fast,
            "names_per_s": 1_000 / fast,
            "mean_len": sum(len(s.text) for s in samples) / len(samples),
            "tried": samples.tried,
        }
    )
    report(rows, args, "sampling", "Sampling speed (bench/sampling.py)")
    print("constrained: " + ", ".join(f"{k}={v}" for k, v in constrained.items()))


if __name__ == "__main__":
    main()
