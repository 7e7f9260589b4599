"""CONTRIBUTING.md's recipe for a model family, followed from one file: this one."""

import math
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import charloom
from charloom.models.base import WindowModel
from charloom.models.registry import FAMILIES, register_family
from charloom.options import check_options, option


@dataclass
class UnigramConfig:
    smoothing: float = option(0.0, help="added to every logit (a do-nothing option)", minimum=0)

    def __post_init__(self):
        check_options(self)


class Unigram(WindowModel):
    """p(next) regardless of the past: one vector of logits."""

    family = "unigram-toy"
    config_class = UnigramConfig
    adamw_only = ("logits",)

    def __init__(self, config: UnigramConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        self.logits = nn.Parameter(torch.zeros(vocab_size))

    @property
    def context_size(self) -> int:
        return 1

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        return (self.logits + self.config.smoothing).expand(windows.shape[0], -1)  # (B, V)


@pytest.fixture
def unigram():
    yield register_family(Unigram)
    del FAMILIES[Unigram.family]


def test_a_family_from_one_file_trains_samples_and_loads(unigram, names_file, tmp_path):
    run = charloom.train(names_file, unigram.family, out=tmp_path / "run", max_steps=30, lr=0.1,
                         model_options={"smoothing": 0.5}, log=lambda m: None)  # fmt: skip
    assert run.info["model"]["parameters"] == run.vocab.size
    loaded = charloom.load_run(run.path)
    assert loaded.evaluate("test")["nll"] < math.log(run.vocab.size) - 0.1  # below uniform: it learned
    assert len(loaded.sample(n=3, seed=0)) == 3
    with pytest.raises(charloom.CharloomError, match="smoothing"):
        charloom.train(names_file, unigram.family, out=tmp_path / "bad", model_options={"smoothing": -1})
