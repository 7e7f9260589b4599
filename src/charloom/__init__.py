"""charloom: character-level generative models.

Learn from a list of names (one per line) or from running text, and make more of the
same. The Python API mirrors the ``charloom`` command:

>>> import charloom
>>> run = charloom.train("names", "mlp", max_steps=2000)   # doctest: +SKIP
>>> [s.text for s in run.sample(n=5, seed=0)]              # doctest: +SKIP
>>> charloom.load_run(run.path).evaluate("test")          # doctest: +SKIP
"""

from charloom.api import resume, train
from charloom.callback import Callback
from charloom.data.config import DataConfig
from charloom.data.corpus import Corpus, load_corpus
from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.run import Run, load_run
from charloom.train.config import TrainConfig
from charloom.version import __version__

__all__ = [
    "__version__",
    "Callback",
    "CharloomError",
    "Corpus",
    "DataConfig",
    "Run",
    "TrainConfig",
    "Vocab",
    "load_corpus",
    "load_run",
    "resume",
    "train",
]
