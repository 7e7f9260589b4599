"""What charloom's transformer is timed against, each measured in the same sitting.

- ``naive_tokens_per_second``: charloom's own transformer, the same model, trained the
  naive way: every name a padded row (``Layout.SEQUENCE``: rows as long as the batch's
  longest name, padding predicted for nothing) at makemore's 32 names a step. The honest
  ablation of packing and of the larger step.
- ``makemore_tokens_per_second``: makemore's own ``makemore.py``, run as a subprocess from a
  checkout the user names (``--makemore DIR``), on the same file at the same thread count,
  for a fixed time; its printed step times give its speed. Nothing of makemore is copied
  here: without a checkout the row is left out.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import train_tokens_per_second

from charloom.data.batches import Layout, encode_items
from charloom.data.loading import make_batches
from charloom.data.vocab import Vocab
from charloom.models.registry import build_model, make_config

MAKEMORE_BATCH = 32
MAKEMORE_LR = 5e-4
STEP_TIME = re.compile(r"^step \d+ \| loss [\d.]+ \| step time ([\d.]+)ms$")


def naive_tokens_per_second(items: list[str], steps: int, threads: int) -> tuple[float, int]:
    """Real tokens per second of the default transformer on padded rows; and its parameters."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    vocab = Vocab.from_texts(items)
    model = build_model("transformer", make_config("transformer"), vocab.size)
    batches = make_batches(
        Layout.SEQUENCE, encode_items(items, vocab), model.context_size, model.context_size
    )
    speed = train_tokens_per_second(model, batches, MAKEMORE_BATCH, steps, lr=MAKEMORE_LR)
    return speed, model.num_parameters()


def makemore_tokens_per_second(
    checkout: Path, data: str, items: list[str], seconds: float, threads: int
) -> float:
    """makemore's transformer (its defaults: 4 layers, 4 heads, 64 wide, batch 32) trained
    for ``seconds`` by its own script; real tokens per second from its median step time.

    A makemore batch holds 32 names drawn uniformly, each giving len + 1 real targets (its
    characters and the end), so a step trains 32 * (mean length + 1) real tokens on average."""
    script = Path(checkout) / "makemore.py"
    if not script.exists():
        raise SystemExit(
            f"no makemore.py in {checkout}; give a checkout of karpathy/makemore with --makemore"
        )
    work = tempfile.mkdtemp(prefix="makemore-")
    command = [
        sys.executable,
        str(script),
        "-i",
        data,
        "-o",
        work,
        "--num-workers",
        "0",
        "--type",
        "transformer",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    times, lines, deadline = [], [], time.monotonic() + seconds
    try:
        for line in process.stdout:
            lines.append(line)
            match = STEP_TIME.match(line.strip())
            if match:
                times.append(float(match.group(1)) / 1000)
            if time.monotonic() > deadline:
                break
    finally:
        process.kill()
        process.wait()
    if len(times) < 5:
        tail = "".join(lines[-5:])
        raise SystemExit(
            f"makemore printed no step times (it needs tensorboard: pip install tensorboard):\n{tail}"
        )
    real_per_step = MAKEMORE_BATCH * (sum(len(item) for item in items) / len(items) + 1)
    return real_per_step / statistics.median(times[len(times) // 10 :])
