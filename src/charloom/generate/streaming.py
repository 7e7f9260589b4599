"""One item written as it is drawn.

A stream decodes one row and hands out each character the step it is chosen, so a long
continuation of running text can be read while it is written. With the same seed and
options, ``"".join(stream)`` is the text ``Run.sample(n=1)`` returns: the same task, the
same draws. Nothing that judges a finished item can apply (a regex, novelty, ``unique``,
``exclude``, best-of-N, refinement, beams), since what was shown cannot be taken back;
``--contains`` and ``--ends-with`` are met by the automaton from the first character.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from charloom.data.vocab import BOUNDARY_ID
from charloom.errors import CharloomError
from charloom.generate.pipeline import SampleOptions, make_task
from charloom.generate.samples import Sample
from charloom.generate.task import Task

JUDGED = {
    "regex": "--regex",
    "not_in_train": "--not-in-train",
    "new": "--new",
    "unique": "--unique",
    "exclude": "--exclude",
}


class Stream:
    """Iterate for the item's text in pieces: the forced prefix first, then each character
    drawn. Once exhausted, ``sample`` is the finished ``Sample`` (likelihood, novelty mark)."""

    def __init__(self, task: Task, seen: Any, hidden: int = 0):
        self.task, self.seen, self.hidden = task, seen, hidden
        self.sample: Sample | None = None

    def __iter__(self) -> Iterator[str]:
        task = self.task
        prefix = task.compiled.forced[self.hidden :]
        if prefix:
            yield prefix
        forced = len(task.forced_ids)
        steps = task.decode_steps(1, relaxed=False)
        while True:
            try:
                t, _, tokens = next(steps)
            except StopIteration as stop:
                decoded = stop.value
                break
            if t < forced or len(tokens) == 0:
                continue
            token = int(tokens[0])
            if not (task.lines and token == BOUNDARY_ID):
                yield task.vocab.decode([token])
        [sample] = task.samples(decoded)
        sample.text = sample.text[self.hidden :]
        sample.seen = self.seen(sample.text) if task.lines else None
        self.sample = sample


def judged_flags(options: SampleOptions) -> list[str]:
    """The options given that judge a finished item, which a stream cannot honour."""
    searches = {
        "--best-of": options.best_of > 1,
        "--refine": options.refine > 0,
        "--num-beams": options.num_beams is not None,
    }
    judged = [flag for name, flag in JUDGED.items() if getattr(options, name)]
    return judged + [flag for flag, given in searches.items() if given]


def stream_run(run: Any, seed: int | None, options: SampleOptions, hidden: int = 0) -> Stream:
    """A ``Stream`` of one item from ``run`` (as ``pipeline.sample_run`` takes it); the first
    ``hidden`` characters of the prefix (a category's token) are not shown."""
    options.check(1)
    judged = judged_flags(options)
    if judged:
        raise CharloomError(
            f"--stream shows each character as it is drawn, so nothing that judges a finished "
            f"item can apply: drop {judged[0]} or --stream"
        )
    task = make_task(run, replace(options, enforce="mask"), seed)
    if task.decoding.control("no_repeat_ngram_size") and task.compiled.mask is not None:
        raise CharloomError(
            "--stream cannot take --no-repeat-ngram-size with a constraint mask (the two may "
            "leave no character to draw, and what was shown cannot be drawn again); drop one"
        )
    return Stream(task, run.seen, hidden)
