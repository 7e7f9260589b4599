"""Samples as training goes: a training callback (see ``train.callbacks``).

At every evaluation it draws ``num_samples`` items (line mode; one passage of running
text) from the model being trained, appends them to the run's ``samples.txt`` as
``step<TAB>text`` lines (escaped as JSON strings are) and prints them under the
evaluation's line. The draws use their own generator, seeded from the run's seed and the
step, so watching a run never changes how it trains.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from charloom import io
from charloom.generate.sampling import generate
from charloom.rundir import RunDir

SHOWN_CHARS = 160
LINE_MAX_NEW, TEXT_MAX_NEW = 50, 200


class TrainingSamples:
    """Draw, write and show a few samples at each evaluation."""

    def __init__(self) -> None:
        self.trainer: Any = None

    def on_train_start(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_eval(self, entry: dict) -> None:
        trainer = self.trainer
        count = trainer.config.num_samples
        if not count or not trainer.dist.is_main:
            return
        texts = draw(
            trainer.eval_model, trainer.vocab, trainer.format, count, trainer.config.seed, entry["step"]
        )
        lines = "".join(f"{entry['step']}\t{json.dumps(text)[1:-1]}\n" for text in texts)
        io.append_text(trainer.run_dir / RunDir.SAMPLES, lines)
        shown = (
            "  ".join(texts) if trainer.format == "lines" else " | ".join(t.replace("\n", " ") for t in texts)
        )
        trainer.log(f"    {shown[:SHOWN_CHARS]}")


def draw(model: Any, vocab: Any, fmt: str, count: int, seed: int, step: int) -> list[str]:
    generator = torch.Generator()
    generator.manual_seed(seed * 100003 + step)
    if fmt == "lines":
        samples = generate(model, vocab, count, max_new_tokens=LINE_MAX_NEW, generator=generator)
    else:
        prompt = "\n" if "\n" in vocab else vocab.chars[0]
        samples = generate(model, vocab, 1, prefix=prompt, max_new_tokens=TEXT_MAX_NEW, generator=generator)
    return [s.text for s in samples]
