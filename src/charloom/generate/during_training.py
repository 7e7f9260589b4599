"""Samples as training goes: a training callback (see ``train.callbacks``).

At every evaluation it draws ``num_samples`` items (line mode; one passage of running
text) from the model being trained, appends them to the run's ``samples.txt`` with their
step and novelty mark (``rundir.LoggedSample``: train, held-out or new, against the run's
own splits) and prints them under the evaluation's line, marking the ones it remembers.
The draws use their own generator, seeded from the run's seed and the step, so watching a
run never changes how it trains.
"""

from __future__ import annotations

from typing import Any

import torch

from charloom import io
from charloom.generate.samples import HELD_OUT, NEW, TRAIN
from charloom.generate.sampling import generate
from charloom.rundir import LoggedSample, RunDir

SHOWN_CHARS = 160
LINE_MAX_NEW, TEXT_MAX_NEW = 50, 200


class TrainingSamples:
    """Draw, write and show a few samples at each evaluation."""

    def __init__(self) -> None:
        self.trainer: Any = None
        self.train: set[str] = set()
        self.held_out: set[str] = set()

    def on_train_start(self, trainer: Any) -> None:
        self.trainer = trainer
        if trainer.format == "lines" and trainer.config.num_samples:
            self.train = set(trainer.run_dir.split_lines("train"))
            self.held_out = set(trainer.run_dir.split_lines("val")) | set(trainer.run_dir.split_lines("test"))

    def seen(self, text: str) -> str | None:
        if self.trainer.format != "lines":
            return None
        return TRAIN if text in self.train else HELD_OUT if text in self.held_out else NEW

    def on_eval(self, entry: dict) -> None:
        trainer = self.trainer
        count = trainer.config.num_samples
        if not count or not trainer.dist.is_main:
            return
        texts = draw(
            trainer.eval_model, trainer.vocab, trainer.format, count, trainer.config.seed, entry["step"]
        )
        logged = [LoggedSample(entry["step"], text, self.seen(text)) for text in texts]
        io.append_text(trainer.run_dir / RunDir.SAMPLES, "".join(s.line() for s in logged))
        if trainer.format == "lines":
            shown = "  ".join(s.text + ("" if s.seen == NEW else f" ({s.seen})") for s in logged)
        else:
            shown = " | ".join(t.replace("\n", " ") for t in texts)
        trainer.log(f"    {shown[:SHOWN_CHARS]}")


def draw(model: Any, vocab: Any, fmt: str, count: int, seed: int, step: int) -> list[str]:
    generator = torch.Generator(device=model.device)
    generator.manual_seed(seed * 100003 + step)
    if fmt == "lines":
        samples = generate(model, vocab, count, max_new_tokens=LINE_MAX_NEW, generator=generator)
    else:
        prompt = "\n" if "\n" in vocab else vocab.chars[0]
        samples = generate(model, vocab, 1, prefix=prompt, max_new_tokens=TEXT_MAX_NEW, generator=generator)
    return [s.text for s in samples]
