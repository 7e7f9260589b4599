"""Samples as training goes: a training callback (see ``charloom.callback``).

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
from charloom.callback import Callback
from charloom.generate.samples import NEW, Novelty
from charloom.generate.sampling import generate
from charloom.rundir import LoggedSample, RunDir

SHOWN_CHARS = 160
LINE_MAX_NEW, TEXT_MAX_NEW = 50, 200


class TrainingSamples(Callback):
    """Draw, write and show a few samples at each evaluation."""

    def __init__(self) -> None:
        self.novelty: Novelty | None = None  # line mode only: passages of text are not marked

    def on_train_start(self, trainer: Any) -> None:
        if trainer.format == "lines" and trainer.config.num_samples:
            run_dir = trainer.run_dir
            held_out = [*run_dir.split_lines("val"), *run_dir.split_lines("test")]
            self.novelty = Novelty(run_dir.split_lines("train"), held_out)

    def on_eval(self, trainer: Any, entry: dict) -> None:
        count = trainer.config.num_samples
        if not count or not trainer.dist.is_main:
            return
        texts = draw(
            trainer.eval_model, trainer.vocab, trainer.format, count, trainer.config.seed, entry["step"]
        )
        mark = self.novelty.mark if self.novelty is not None else lambda text: None
        logged = [LoggedSample(entry["step"], text, mark(text)) for text in texts]
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
