"""Print, as Markdown, every fault and bad input charloom was given and what happened:
the command, the exit code, the one-line message, whether files stayed intact. The same
cases run in tests/reliability/test_faults.py. ``--write docs/reliability.md`` writes the
table there with what it shows, stamped with the commit, machine and date.

    python scripts/fault_table.py                              # about a minute
    python scripts/fault_table.py --kills 5                    # fewer random kills
    python scripts/fault_table.py --write docs/reliability.md
"""

from __future__ import annotations

import argparse
import errno
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))  # the fault harness and its cases
sys.path.insert(0, str(REPO / "bench"))

from common import stamp  # noqa: E402

import faults  # noqa: E402
from charloom import io as cio  # noqa: E402


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def kill_rows(work: Path, kills: int) -> list[tuple[str, str, str, str, str]]:
    faults.write(work / "names.txt", faults.names_text())
    options = [
        "--model",
        "bigram",
        "--max-steps",
        "40",
        "--eval-every",
        "5",
        "--num-samples",
        "1",
        "--seed",
        "4",
        "--quiet",
    ]
    ref = ["train", str(work / "names.txt"), "--out", str(work / "ref"), *options]
    started = time.monotonic()
    faults.run_forked(ref, None, work / "ref.log")
    longest = min(time.monotonic() - started, 2.0) / 3
    argv = ["train", str(work / "names.txt"), "--out", str(work / "killed"), *options]
    report = faults.kill_loop(argv, work / "killed", kills, seed=0, longest=longest, log=work / "k.log")
    same = all(
        faults.same_weights(work / "ref" / n, work / "killed" / n)
        for n in ("last.safetensors", "model.safetensors")
    )
    metrics = faults.metrics_without_timing(work / "ref") == faults.metrics_without_timing(work / "killed")
    return [
        (
            f"SIGKILL x{report.kills} at random moments (seed 0), then `--resume`",
            "charloom train names.txt --model bigram --max-steps 40 --eval-every 5 ... [--resume]",
            "-9, then 0",
            f"{report.before_first_checkpoint} kills before the first checkpoint: `--resume` says "
            f"'nothing to resume ... start it again with --force' (exit 2), restarted "
            f"{report.restarts_with_force}x with --force",
            f"final weights identical (torch.equal): {same}; metrics identical: {metrics}",
        )
    ]


def disk_full_row(work: Path) -> tuple[str, str, str, str, str]:
    faults.run_cli(
        [
            "train",
            str(work / "names.txt"),
            "--model",
            "bigram",
            "--out",
            str(work / "disk"),
            "--max-steps",
            "10",
            "--eval-every",
            "5",
            "--quiet",
        ]
    )
    before = faults.snapshot(work / "disk")
    real = cio.os.fsync

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    cio.os.fsync = no_space
    try:
        outcome = faults.run_cli(["train", "--resume", "--out", str(work / "disk"), "--max-steps", "20"])
    finally:
        cio.os.fsync = real
    after = faults.snapshot(work / "disk")
    intact = all(after[n] == before[n] for n in ("last.safetensors", "state.safetensors", "run.json"))
    temps = list((work / "disk").glob(".*.tmp"))
    return (
        "disk full while checkpointing (fsync raises ENOSPC)",
        "charloom train --resume --out W/disk",
        str(outcome.code),
        outcome.stderr.strip().replace(str(work), "W"),
        f"checkpoint intact: {intact}; temp files left: {len(temps)}",
    )


def fuzz_rows(root: Path, examples: int) -> list[tuple[str, str, str, str, str]]:
    """The fuzzer of tests/reliability/test_fuzz_cli.py, ``examples`` cases per command."""
    from hypothesis import strategies as st

    import fuzzing
    from tiny_data import make_names

    words = ["the", "cat", "(sat)", '"on"', "42"]
    text = "\n".join(" ".join(words[(i + j) % 5] for j in range(8)) for i in range(120))
    work = fuzzing.make_work(root, make_names(300), text)

    def command_lines(command: str) -> int:
        return fuzzing.fuzz(fuzzing.argv_for(command, work), lambda argv: fuzzing.check(argv, work), examples)

    def tampered(drawn) -> None:
        (where, value), command = drawn
        fuzzing.check([command, str(fuzzing.tamper(work, where, value))], work)

    rows = []
    for command in sorted(fuzzing.commands()):
        ran, outcome = _fuzzed(command_lines, command)
        rows.append((f"fuzzer: command lines of `{command}`", f"{ran} cases", "0 or 2", outcome, "yes"))
    drawn = st.tuples(fuzzing.tampered_runs(work), st.sampled_from(["sample", "eval", "score"]))
    ran, outcome = _fuzzed(lambda _: fuzzing.fuzz(drawn, tampered, examples), None)
    rows.append(("fuzzer: one run.json field tampered", f"{ran} cases", "0 or 2", outcome, "yes"))
    return rows


def _fuzzed(run, argument) -> tuple[int, str]:
    try:
        return run(argument), "every case a result or one line; no traceback, no hang, no file changed"
    except AssertionError as exc:
        return 0, "FAILED: " + str(exc).splitlines()[0][:200]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--write", metavar="FILE.md", help="also write the table, with what it shows, here")
    parser.add_argument(
        "--fuzz", type=int, default=30, metavar="N", help="fuzzer cases per command (0: none)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    random.seed(0)
    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for row in faults.bad_input_rows(work):
            rows.append(
                (row.name, f"`{row.command}`", str(row.code), row.message, "yes" if row.intact else "NO")
            )
        rows.append(
            (
                "pickle whose `__reduce__` writes a file",
                "(see above)",
                "2",
                "never unpickled",
                "marker file created: " + str((work / "UNPICKLED").exists()),
            )
        )
        rows += kill_rows(work, args.kills)
        rows.append(disk_full_row(work))
        if args.fuzz:
            rows += fuzz_rows(work / "fuzz", args.fuzz)
    lines = ["| fault or bad input | command | exit | message | files intact |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    print("\n".join(lines))
    if args.write:
        command = "python scripts/fault_table.py" + "".join(f" {a}" for a in sys.argv[1:])
        text = PROMISE.format(command=command, stamp=stamp(), cases=len(rows))
        Path(args.write).write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


PROMISE = """# Reliability

What charloom promises, and the table that checks it:

- A user error (a missing, empty, binary or non-UTF-8 file, a bad option, a damaged run)
  prints one line on stderr starting `charloom: error:` and exits with code 2; it changes
  no file.
- No pickle is ever loaded: weights and checkpoints are safetensors and JSON, read through
  the safetensors parser only.
- Every write is atomic (a temporary file, fsync, rename): a run killed at any moment still
  loads, and a full disk leaves the last checkpoint intact.
- A killed run resumes bit-for-bit: its final weights and metrics equal an uninterrupted
  run's.

`{command}`

*{stamp}*

{cases} cases; W is the temporary work folder. The same cases run in
`tests/reliability/test_faults.py`.

"""


if __name__ == "__main__":
    raise SystemExit(main())
