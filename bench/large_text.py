"""Training on a text far larger than memory should need: `charloom train BIG.txt --format
text --time-budget S` on generated texts of 300 MB and 1 GB, as a user runs it (a
subprocess): the time to the first step, the time to exit, and the peak resident memory;
then the other commands that read the whole text (`charloom data`, `charloom lr-find`),
timed the same way.

    python bench/large_text.py [--sizes 300,1000] [--budget 30,60] [--folder DIR] [--write FILE.md]

The text is made here: seeded pseudo-words and punctuation in lines, 10 MB of it drawn
once and then repeated with each copy's lines in a new seeded order, so that no split is
a copy of another by position. The first step is when the run writes its step-0 line to
metrics.jsonl (after the data is read, tokenised to its token file and split, and the
step-0 evaluation made); the peak memory is the child process's, from wait4's rusage.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import REPO, parser, report, scratch

CHUNK_MB = 10


def generated_text(path: Path, megabytes: int) -> Path:
    """``megabytes`` MB of seeded pseudo-text at ``path`` (kept if it is already there)."""
    if path.exists() and path.stat().st_size >= megabytes * 1_000_000:
        return path
    rng = random.Random(0)
    syllables = [a + b for a in "bcdfghklmnprstvwz" for b in "aeiou"] + ["th", "ch", "st", "er", "an"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(5000)]
    lines = []
    size = 0
    while size < CHUNK_MB * 1_000_000:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        line = line.capitalize() + rng.choice([".", ",", ";", "?", "!", ":"])
        lines.append(line)
        size += len(line) + 1
    scratch_path = path.with_suffix(".part")
    with scratch_path.open("w", encoding="ascii") as out:
        for copy in range((megabytes + CHUNK_MB - 1) // CHUNK_MB):
            random.Random(copy).shuffle(lines)
            out.write("\n".join(lines) + "\n")
    os.replace(scratch_path, path)
    return path


def timed_command(args: list[str], watch: Path | None = None) -> tuple[float, float | None, float]:
    """``charloom ARGS`` as a subprocess: its wall seconds, the seconds until ``watch`` had
    content (None: never, or no file to watch) and its peak resident memory in MB."""
    command = [sys.executable, "-m", "charloom", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        seen = None
        while True:  # wait4 rather than poll: it gives the child's own peak memory
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if seen is None and watch is not None and watch.exists() and watch.stat().st_size > 0:
                seen = time.monotonic() - started
            time.sleep(0.2)
        if os.waitstatus_to_exitcode(status):
            stderr.seek(0)
            raise SystemExit(f"charloom {args[0]} failed: {stderr.read().decode()[-500:]}")
    return time.monotonic() - started, seen, usage.ru_maxrss / 1024


def timed_training(text: Path, out: Path, budget: float, threads: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)  # an earlier run's metrics.jsonl would read as the first step
    wall, first_step, peak = timed_command(
        ["train", str(text), "--format", "text", "--out", str(out), "--force", "--quiet",
         "--time-budget", str(budget), "--threads", str(threads)],
        watch=out / "metrics.jsonl",
    )  # fmt: skip
    state = json.loads((out / "run.json").read_text())["status"]
    return {
        "text_mb": text.stat().st_size / 1e6,
        "budget_s": budget,
        "first_step_s": first_step,
        "exit_s": wall,
        "after_budget_s": wall - (first_step or 0) - budget,
        "peak_rss_mb": peak,
        "steps": state.get("step"),
        "val_nll": state.get("val_nll"),
        "estimated": bool(state.get("estimated")),
    }


def timed_reading(text: Path) -> list[dict]:
    """The commands besides training that read the whole text (each at torch's own threads)."""
    commands = ["data", str(text), "--format", "text", "--json"], ["lr-find", str(text), "--format", "text",
                "--steps", "50", "--json"]  # fmt: skip
    rows = []
    for args in commands:
        wall, _, peak = timed_command(args)
        shown = "charloom " + " ".join("FILE" if arg == str(text) else arg for arg in args)
        rows.append(
            {"text_mb": text.stat().st_size / 1e6, "command": shown, "exit_s": wall, "peak_rss_mb": peak}
        )
    return rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="300,1000", help="text sizes in MB")
    p.add_argument("--budget", default="30,60", help="--time-budget of each size's run, in order")
    p.add_argument("--folder", help="where the texts are made and kept (default: a scratch folder)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    from charloom.device import resolve_dtype  # what the text default's --dtype auto picks here

    precision = str(resolve_dtype("auto", torch.device("cpu"))).removeprefix("torch.")
    folder = Path(args.folder) if args.folder else scratch()
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    budgets = [float(b) for b in args.budget.split(",")]
    rows, reading = [], []
    for megabytes, budget in zip(sizes, budgets, strict=True):
        text = generated_text(folder / f"text-{megabytes}mb.txt", megabytes)
        rows.append(timed_training(text, folder / f"run-{megabytes}mb", budget, args.threads))
        reading += timed_reading(text)
    report(
        rows,
        args,
        "large-text",
        "Training on texts of hundreds of MB (bench/large_text.py)",
        notes=f"The text default (`charloom train FILE --format text`; its --dtype auto ran in {precision} "
        "here). first_step_s: from the command's "
        "start to its step-0 line (data read, tokenised, split, first evaluation); exit_s: to its exit; "
        "after_budget_s: exit_s less the first step and the budget (the closing evaluation and the writes); "
        "peak_rss_mb: the process's peak resident memory; estimated: the closing figures are estimates "
        "from a bounded sample, with their standard error in run.json.",
    )
    report(
        reading,
        args,
        "large-text-reading",
        "Reading texts of hundreds of MB outside training (bench/large_text.py)",
        notes="Each command as a user runs it, on the texts above: exit_s, from its start to its exit; "
        "peak_rss_mb: the process's peak resident memory.",
    )


if __name__ == "__main__":
    main()
