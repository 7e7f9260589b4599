"""``Run.sample`` end to end: options -> constraints -> search -> scored ``Samples``.

    plain or filtered sampling   draw until n pass (budget-capped)
    num_beams                    beam search (then optionally reranked by ``score``)
    best_of > 1                  N draws per item, the best by ``score`` kept
    refine > 0                   each item rewritten from its most surprising character

The options are named as in Hugging Face ``generate`` where it has them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from charloom.errors import CharloomError
from charloom.generate.constraints import Constraints, compile_constraints, merge_prefix
from charloom.generate.processors import PROCESSORS
from charloom.generate.processors import controls as processor_controls
from charloom.generate.samples import Samples
from charloom.generate.sampling import Decoding
from charloom.generate.scoring import Scorer, make_scorer
from charloom.generate.search import ENFORCE, beam_search, best_of, draw, refine, score_samples
from charloom.generate.task import Task
from charloom.models.context import check_fits
from charloom.options import check_count, check_options, check_seed, option

DEFAULT_MAX_NEW = {"lines": 100, "text": 500}
BUDGET_FACTOR = 100  # default budget: this many draws per item wanted ...
BUDGET_CAP = 200_000  # ... but no more than this (unless --budget says so)


@dataclass
class SampleOptions(Decoding):
    """Everything ``Run.sample`` takes besides ``n`` and ``seed``: every registered logits
    processor's control, kept in ``controls`` (``Decoding``), and the fields below, each
    documented by its ``help`` (``charloom sample --help`` lists them by group)."""

    prefix: str = option("", help="text to continue", group="decoding")
    min_new_tokens: int = option(
        0, help="shortest continuation (the end is masked)", minimum=0, group="decoding"
    )
    starts_with: str = option("", help="items start with S", metavar="S", group="constraints")
    ends_with: str = option("", help="items end with S", metavar="S", group="constraints")
    contains: str | Sequence[str] = option(
        (), help="items contain S (repeat for several)", metavar="S", repeat=True, group="constraints"
    )
    regex: str | None = option(
        None,
        help="items match the regular expression R (a search: anchor it with ^...$)",
        metavar="R",
        group="constraints",
    )
    min_len: int | None = option(
        None, help="items have at least N characters", metavar="N", group="constraints"
    )
    max_len: int | None = option(
        None, help="items have at most N characters", metavar="N", group="constraints"
    )
    alphabet: str | None = option(
        None, help="items use only these characters", metavar="CHARS", group="constraints"
    )
    not_in_train: bool = option(
        False,
        help="only items not in the training split (they may still be in val or test: --new for neither)",
        group="constraints",
    )
    new: bool = option(
        False, help="only items found in no split of the data: not in train, val or test", group="constraints"
    )
    unique: bool = option(False, help="no item twice", group="constraints")
    exclude: Iterable[str] = option(
        (),
        help="never return an item listed in FILE (one per line)",
        metavar="FILE",
        from_file=True,
        group="constraints",
    )
    bad_words: Iterable[str] = option(
        (),
        help="no item contains any line of FILE (enforced as each character is drawn)",
        metavar="FILE",
        from_file=True,
        group="constraints",
    )
    budget: int | None = option(
        None,
        help="most items drawn to satisfy the filters (default 100 per item, at most 200,000)",
        minimum=1,
        group="constraints",
    )
    enforce: str = option(
        "auto",
        help="how --ends-with/--contains are met: resample while affordable, then mask (auto); always "
        "mask; only resample (exact, may run out of --budget)",
        choices=ENFORCE,
        group="constraints",
    )
    num_beams: int | None = option(
        None, help="beam search with this many beams (1: greedy)", minimum=1, group="search"
    )
    length_penalty: float = option(
        0.0, help="beam score = log p / tokens ** this (0: likelihood, 1: per character)", group="search"
    )
    best_of: int = option(
        1, help="draw N per item, keep the best by --score", metavar="N", minimum=1, group="search"
    )
    score: str | Scorer | Callable | None = option(
        None,
        help="scorer(s) with weights, e.g. loglik_per_char (default), novelty, ratio:RUN_B, "
        "'loglik:1,novelty:0.5'",
        metavar="SPEC",
        group="search",
    )
    refine: int = option(
        0,
        help="rewrite each item from its least likely character, keep it if --score improves",
        metavar="ROUNDS",
        minimum=0,
        group="search",
    )

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> SampleOptions:
        """The options by name, the processors' controls among them."""
        controls = processor_controls()
        names = [*controls, *(f.name for f in fields(cls) if f.name != "controls")]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise CharloomError(
                f"sample() has no option {unknown[0]!r}; its options: n, seed, {', '.join(names)}"
            )
        given = {name: value for name, value in options.items() if name not in controls}
        return cls(controls={name: value for name, value in options.items() if name in controls}, **given)

    def constraints(self) -> Constraints:
        return Constraints(
            starts_with=self.starts_with,
            ends_with=self.ends_with,
            contains=self.contains,
            regex=self.regex,
            min_len=self.min_len,
            max_len=self.max_len,
            alphabet=self.alphabet,
            not_in_train=self.not_in_train,
            new=self.new,
            unique=self.unique,
            exclude=frozenset(self.exclude or ()),
            bad_words=tuple(self.bad_words or ()),
        )

    def check(self, n: int) -> None:
        check_count(n)
        check_options(self)
        if self.num_beams is not None:
            if n > self.num_beams:
                raise CharloomError(
                    f"beam search returns at most --num-beams items; ask for "
                    f"-n {self.num_beams} or fewer, or use --num-beams {n}"
                )
            # what forbids tokens (constraints, --bad-words, the truncations, no-repeat) prunes
            # the beams; what reshapes probabilities has no place in a search for likely items
            sampling = {
                "temperature": self.control("temperature") != 1.0,
                "repetition_penalty": self.control("repetition_penalty") != 1,
                "best_of": self.best_of > 1,
                "refine": self.refine > 0,
            }
            clash = [name for name, given in sampling.items() if given]
            if clash:
                flag = "--" + clash[0].replace("_", "-")
                raise CharloomError(f"beam search searches, it does not sample: drop {flag} or --num-beams")


def declaring_classes() -> list[type]:
    """The classes whose ``option()`` fields are ``Run.sample``'s options, as the command
    line and the server list them: each registered processor (its controls, read when
    asked, so one registered later is there too), then ``SampleOptions``."""
    return [*PROCESSORS, SampleOptions]


def make_task(run: Any, options: SampleOptions, seed: int | None) -> Task:
    """Decoding parameters and constraints bound to the run's model and vocabulary."""
    lines = run.format == "lines"
    constraints = options.constraints()
    forced = merge_prefix(options.prefix, constraints.starts_with) if lines else options.prefix
    if not lines and not forced:
        raise CharloomError("a text model needs a --prefix to continue")
    run.vocab.check(forced, where="prefix")
    check_fits(run.model, len(forced), "the prefix", lines)
    max_new = options.max_new_tokens
    if max_new is None:
        max_new = DEFAULT_MAX_NEW[run.format]
        if constraints.max_len is not None:
            max_new = max(max_new, constraints.max_len - len(forced) + 1)
    decoding = options.decoding(max_new_tokens=max_new)
    longest = run.longest_train_item if lines else None
    compiled = compile_constraints(
        constraints,
        run.vocab,
        prefix=options.prefix,
        max_new_tokens=max_new,
        min_new_tokens=options.min_new_tokens,
        natural_max_len=longest,
        train_set=run.train_set if constraints.not_in_train or constraints.new else (),
        held_out=run.held_out_set if constraints.new else (),
    )
    generator = torch.Generator(device=run.model.device)  # the draws are made where the model is
    # no seed: a fresh one, without reseeding torch's global generator as torch.seed() would
    check_seed(seed)
    generator.manual_seed(seed if seed is not None else secrets.randbits(63))
    return Task(run.model, run.vocab, compiled, decoding, generator)


def sample_run(run: Any, n: int, seed: int | None, options: SampleOptions) -> Samples:
    """Generate ``n`` items from a ``Run`` (anything with ``model``, ``vocab``, ``format``,
    ``train_set`` and ``longest_train_item``) under ``options``."""
    options.check(n)
    task = make_task(run, options, seed)
    ranking = options.score is not None or options.best_of > 1 or options.refine > 0
    scorer = make_scorer(options.score, run) if ranking else None
    needed = n * options.best_of
    budget = options.budget or max(needed, min(BUDGET_FACTOR * needed, BUDGET_CAP))
    masked_after = None
    if options.num_beams is not None:
        wanted = n if options.score is None else options.num_beams
        items, tried, kept = beam_search(task, options.num_beams, wanted, options.length_penalty)
        if options.score is not None:  # rerank the finished beams
            score_samples(items, scorer)
            items = sorted(items, key=lambda s: s.score, reverse=True)[:n]
        budget = None
    else:
        if options.best_of > 1:
            items, drawn = best_of(task, n, options.best_of, scorer, budget, options.enforce)
        else:
            drawn = draw(task, n, budget, options.enforce)
            items = drawn.items
            if scorer is not None:
                score_samples(items, scorer)
        tried, kept, masked_after = drawn.tried, len(drawn.items), drawn.masked_after
    refined = refine(task, items, options.refine, scorer) if options.refine > 0 else 0
    for sample in items:
        sample.seen = run.seen(sample.text) if task.lines else None
    return Samples(
        items, requested=n, tried=tried, kept=kept, budget=budget, refined=refined, masked_after=masked_after
    )
