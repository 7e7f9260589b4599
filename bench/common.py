"""Helpers shared by the benchmark scripts: where the reference data is, timing, and the
writing of their tables into docs/benchmarks.md.

Each script prints its table and, given ``--write docs/benchmarks.md``, replaces its own
section of that file (between ``<!-- bench:NAME -->`` markers), stamped with the commit,
the machine, the threads and the date, and headed by the command that made it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # runs without installing

from charloom.data.batches import IGNORE  # noqa: E402
from charloom.models.likelihood import nll  # noqa: E402
from charloom.train.optim import make_optimizer  # noqa: E402

REFERENCE_NAMES = REPO.parent / "shared" / "data" / "names.txt"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--data",
        default=str(REFERENCE_NAMES),
        help="names file (default: ../shared/data/names.txt, the makemore file)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--write", metavar="FILE.md", help="also write the table into this file's section")
    return p


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="charloom-bench-"))


def charloom_json(*args: str) -> dict:
    """``charloom ARGS --json`` as a subprocess, as a user runs it: what it printed."""
    command = [sys.executable, "-m", "charloom", *args, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"charloom {args[0]} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def charloom_train(data: str | Path, out: Path, options: list[str], threads: int) -> tuple[dict, dict]:
    """``charloom train DATA OPTIONS``: what it printed and the run's run.json."""
    printed = charloom_json(
        "train", str(data), "--out", str(out), "--force", "--quiet", "--threads", str(threads), *options
    )
    return printed, json.loads((out / "run.json").read_text())


def load_average() -> float:
    return os.getloadavg()[0]


def train_tokens_per_second(model, batches, batch_size: int, steps: int, lr: float = 1e-3) -> float:
    """Real (non-padding) training tokens per second of ``model`` on ``batches``, AdamW,
    over ``steps`` steps after a tenth of them to warm caches and allocators."""
    optimizer = make_optimizer(model, "adamw", lr, 0.01)
    generator = torch.Generator().manual_seed(0)
    model.train()
    tokens, elapsed = 0, 0.0
    for step in range(steps):
        inputs, targets = batches.sample(batch_size, generator)
        start = time.perf_counter()
        logits, _ = model(inputs, layout=batches.layout)
        loss = nll(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= steps // 10:
            elapsed += time.perf_counter() - start
            tokens += int((targets != IGNORE).sum())
    return tokens / elapsed


# -- tables -----------------------------------------------------------------------------------
def report(
    rows: list[dict], args: argparse.Namespace, section: str = "", title: str = "", notes: str = ""
) -> None:
    """Print the rows (a Markdown table, or JSON with --json); with --write, also put the
    table in its section of that file."""
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
        if notes:
            print("\n" + notes)
    if getattr(args, "write", None) and section:
        write_section(Path(args.write), section, title, table(rows), notes)


def table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.4f}" if abs(value) >= 0.01 or value == 0 else f"{value:.2e}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def cpu_name() -> str:
    """The CPU's model name (``platform.processor()`` is empty on Linux, so /proc/cpuinfo's)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    names = (line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
    return next(names, platform.machine())


def cpu_class() -> str:
    """The widest matrix or vector unit of this CPU, which sets how fast a float32 or bfloat16
    step runs: amx (native bfloat16 tiles), avx512, avx2, or the machine's name elsewhere
    (as PyTorch's own dispatch detects them)."""
    for unit, supported in (
        ("amx", torch.cpu._is_amx_tile_supported),
        ("avx512", torch.cpu._is_avx512_supported),
        ("avx2", torch.cpu._is_avx2_supported),
    ):
        if supported():
            return unit
    return platform.machine()


def stamp() -> str:
    """Where and when a figure was measured: commit, machine, threads, torch, date."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # docs/ is what the benches write: its changes do not count
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    machine = f"{cpu_name()} ({cpu_class()}), {os.cpu_count()} cores"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"commit {commit}; {machine}; torch {torch.__version__}, {torch.get_num_threads()} threads "
        f"by default; load average {load_average():.1f} at the end; {date}"
    )


def write_section(path: Path, section: str, title: str, body: str, notes: str = "") -> None:
    """Replace the section ``section`` of ``path`` (made if missing) with ``body``."""
    command = "python " + " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]]
    )
    block = "\n".join(
        [
            f"<!-- bench:{section} -->",
            f"## {title}",
            "",
            f"`{command}`",
            "",
            f"*{stamp()}*",
            "",
            body,
            *(["", notes] if notes else []),
            f"<!-- /bench:{section} -->",
        ]
    )
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote the {section!r} section of {path}")


HEADER = """# Benchmarks

Every table here is written by the script named above it (`--write docs/benchmarks.md`),
on the commit and machine its stamp gives; rerun the command to check or refresh it.
Speeds move with the machine's load, so each script sets charloom against its baseline in
the same sitting.
"""
