"""Generation: every feature reshapes the model's distribution at inference time.

    sampling.py     the decoding loop over ``step`` and the logit transforms
    constraints.py  constraints as masks (one automaton) and as filters
    search.py       draw and filter within a budget, beam search, best-of-N, refinement
    scoring.py      likelihood of items, scorers and their registry
    novelty.py      the nearest training item by edit distance, fast on 100k items
    pipeline.py     ``Run.sample`` end to end

Everything talks to models through ``init_state``/``step``/``select_state`` (and
``forward`` to score), so it works for every family.
"""

from charloom.generate.constraints import Constraints
from charloom.generate.pipeline import SampleOptions
from charloom.generate.sampling import Decoding, Sample, Samples
from charloom.generate.scoring import ItemScore, Scorer, make_scorer, register_scorer

__all__ = [
    "Constraints",
    "Decoding",
    "ItemScore",
    "Sample",
    "SampleOptions",
    "Samples",
    "Scorer",
    "make_scorer",
    "register_scorer",
]
