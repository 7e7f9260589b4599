"""Contrastive decoding for style transfer: what is typical of one category, against all.

A category's generator p_c gives high probability to what its names share with every
other category's (common letters, common endings) as much as to what sets them apart.
The pooled generator p_all, trained on every category, knows the shared part. Drawing
each character from

    log q(v | x) = (1 + alpha) log p_c(v | x) - alpha log p_all(v | x)   (renormalised)

weighs each character by how much more likely the category finds it than names at large
(Li et al., 2023, "Contrastive Decoding"; a product of experts as in Hinton, 2002):
alpha 0 is the generator itself, and larger alpha pushes the start of a name harder toward the style.

``ContrastModel`` is an ordinary model to the decoding loop (``init_state``/``step``), so
masks, best-of-N and every processor work on it unchanged; ``Contrasted`` gives it the
``sample`` of a run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from charloom.errors import CharloomError
from charloom.generate.pipeline import SampleOptions, sample_run
from charloom.generate.samples import Samples
from charloom.models.base import CharModel


class ContrastModel(CharModel):
    """Two models of one vocabulary stepped together; logits (1 + a) log p - a log q."""

    family = "contrast"

    def __init__(self, expert: CharModel, amateur: CharModel, alpha: float):
        if expert.vocab_size != amateur.vocab_size:
            raise CharloomError("contrastive decoding needs two models of the same vocabulary")
        super().__init__(None, expert.vocab_size)
        self.expert, self.amateur, self.alpha = expert, amateur, float(alpha)
        self.training_layout = expert.training_layout

    @property
    def context_size(self) -> int | None:
        sizes = [m.context_size for m in (self.expert, self.amateur) if m.context_size is not None]
        return min(sizes) if sizes else None

    def init_state(self, batch_size: int) -> Any:
        return self.expert.init_state(batch_size), self.amateur.init_state(batch_size)

    def forward_from(self, idx: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        expert_logits, expert_state = self.expert(idx, state[0])
        amateur_logits, amateur_state = self.amateur(idx, state[1])
        return self._contrast(expert_logits, amateur_logits), (expert_state, amateur_state)

    def forward_sequence(self, idx: torch.Tensor) -> torch.Tensor:
        return self._contrast(self.expert(idx)[0], self.amateur(idx)[0])

    def _contrast(self, expert_logits: torch.Tensor, amateur_logits: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(expert_logits.float(), dim=-1)
        log_q = F.log_softmax(amateur_logits.float(), dim=-1)
        return (1 + self.alpha) * log_p - self.alpha * log_q

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        return self.expert.select_state(state[0], index), self.amateur.select_state(state[1], index)

    def compact_state(self, state: Any, keep: torch.Tensor) -> Any:
        return self.expert.compact_state(state[0], keep), self.amateur.compact_state(state[1], keep)


class Contrasted:
    """A run whose samples come from ``ContrastModel(run, base, alpha)``; everything else
    (vocabulary, splits, novelty marks) is the run's own."""

    def __init__(self, run: Any, base: Any, alpha: float):
        self.run = run
        self.model = ContrastModel(run.model, base.model, alpha)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def sample(self, n: int = 10, *, seed: int | None = None, **options: Any) -> Samples:
        return sample_run(self, n, seed, SampleOptions.from_kwargs(options))


def contrasted(run: Any, base: Any | None, alpha: float) -> Any:
    """``run`` itself at alpha 0; else its contrast against ``base`` (the pooled run)."""
    if not alpha:
        return run
    if alpha < 0:
        raise CharloomError(f"--contrast must be >= 0, got {alpha}")
    if base is None:
        raise CharloomError(
            "--contrast needs the group's pooled generator; train it again without --no-pooled"
        )
    if base.vocab != run.vocab:
        raise CharloomError("--contrast needs a pooled generator of the same alphabet as the category's")
    return Contrasted(run, base, alpha)
