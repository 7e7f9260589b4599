"""Generation: every feature reshapes the model's distribution at inference time.

    sampling.py     the decoding loop over ``step``
    samples.py      what it returns: items with their likelihood, the search's account
    processors.py   logits processors (mask, repetition, no-repeat, temperature, truncations)
    automata.py     the automata of the constraints and the table that keeps rows finishable
    task.py         a request bound to the model: what every search decodes through
    rows.py         which rows a batch still computes: the shared start, finished rows
    constraints.py  constraints as masks (one automaton) and as filters
    search.py       draw and filter within a budget, beam search, best-of-N, refinement
    scoring.py      likelihood of items, scorers and their registry
    novelty.py      the nearest training item by edit distance, fast on 100k items
    pipeline.py     ``Run.sample`` end to end
    streaming.py    one item handed out a character at a time (``Run.stream``)
    during_training.py  samples at each evaluation, as a training callback

Everything talks to models through ``init_state``/``step``/``select_state`` (and
``forward`` to score), so it works for every family.
"""

from charloom.generate.constraints import Constraints
from charloom.generate.pipeline import SampleOptions
from charloom.generate.processors import LogitsProcessor, LogitsProcessorList, register_processor
from charloom.generate.samples import Sample, Samples
from charloom.generate.sampling import Decoding
from charloom.generate.scoring import ItemScore, Scorer, make_scorer, register_scorer

__all__ = [
    "Constraints",
    "Decoding",
    "ItemScore",
    "LogitsProcessor",
    "LogitsProcessorList",
    "Sample",
    "SampleOptions",
    "Samples",
    "Scorer",
    "make_scorer",
    "register_processor",
    "register_scorer",
]
