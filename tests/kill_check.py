"""Twenty SIGKILLs at random moments, each followed by ``--resume``, against one
uninterrupted run; prints what matched as JSON.

Runs in a fresh process of its own (the test starts it): the kills land in children
forked from this process, and a fork is only safe from a process whose thread pools
never ran more than one thread, which a long test session cannot promise.

    python tests/kill_check.py NAMES_FILE WORK_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)

import faults  # noqa: E402

KILL_OPTIONS = [
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
    "--threads",
    "1",
    "--quiet",
]


def main(names_file: str, work: Path) -> dict:
    ref, out = work / "ref", work / "killed"
    started = time.monotonic()
    reference = faults.run_forked(
        ["train", names_file, "--out", str(ref), *KILL_OPTIONS], None, work / "ref.log"
    )
    uninterrupted = time.monotonic() - started
    longest = min(uninterrupted, 2.0) / 3
    report = faults.kill_loop(
        ["train", names_file, "--out", str(out), *KILL_OPTIONS],
        out,
        kills=20,
        seed=0,
        longest=longest,
        log=work / "k.log",
    )
    return {
        "reference_code": reference.code,
        "kills": report.kills,
        "resumes": report.resumes,
        "same_weights": {
            name: faults.same_weights(ref / name, out / name)
            for name in ("last.safetensors", "model.safetensors", "state.safetensors")
        },
        "same_metrics": faults.metrics_without_timing(out) == faults.metrics_without_timing(ref),
        "same_samples": (out / "samples.txt").read_text() == (ref / "samples.txt").read_text(),
        "state": json.loads((out / "run.json").read_text())["status"]["state"],
        "temp_files": [str(p) for p in out.glob(".*.tmp")],
        "events": report.events,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
