"""The decoding loop: batched, incremental through ``step``, each row leaving the batch
when it emits the boundary.

Line mode: every row starts from the boundary token (then the prefix) and ends at the
next boundary. Text mode: rows continue the prefix for ``max_new_tokens`` characters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.models.base import CharModel
from charloom.models.context import check_fits


@dataclass
class Sample:
    """One generated item: its text (prefix included), the model's log-probability of the
    generated part (at temperature 1, end boundary included) and whether it ended."""

    text: str
    logprob: float
    num_tokens: int
    finished: bool
    new: bool | None = None  # not among the training items (None: unknown)

    @property
    def nll_per_char(self) -> float:
        return -self.logprob / max(self.num_tokens, 1)


def apply_temperature_top_k(logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
    """Reshape next-token logits: divide by the temperature, keep the k most likely."""
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits


def check_decoding(temperature: float, top_k: int | None, max_new_tokens: int, n: int) -> None:
    if not temperature >= 0:
        raise CharloomError(f"--temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise CharloomError(f"--top-k must be at least 1, got {top_k}")
    if max_new_tokens < 1:
        raise CharloomError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    if n < 1:
        raise CharloomError(f"-n must be at least 1, got {n}")


@torch.no_grad()
def generate(
    model: CharModel,
    vocab: Vocab,
    n: int = 10,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    prefix: str = "",
    max_new_tokens: int = 100,
    generator: torch.Generator | None = None,
) -> list[Sample]:
    """Draw ``n`` samples. Temperature 0 is greedy decoding."""
    check_decoding(temperature, top_k, max_new_tokens, n)
    prefix_ids = vocab.encode(prefix, where="prefix")
    lines = vocab.boundary
    check_fits(model, len(prefix_ids), "the prefix", lines)
    if not lines and not prefix_ids:
        raise CharloomError("a text model needs a --prefix to continue")
    was_training = model.training
    model.eval()
    try:
        start = ([BOUNDARY_ID] if lines else []) + prefix_ids
        state = model.init_state(n)
        for token in start:
            logits, state = model.step(torch.full((n,), token, dtype=torch.long), state)
        rows = torch.arange(n)  # which sample each batch row is
        generated: list[list[int]] = [[] for _ in range(n)]
        logprob = torch.zeros(n, dtype=torch.float64)
        finished = [False] * n
        for _ in range(max_new_tokens):
            log_probs = F.log_softmax(logits.float(), dim=-1)
            if temperature == 0:
                chosen = logits.argmax(dim=-1)
            else:
                shaped = apply_temperature_top_k(logits.float(), temperature, top_k)
                probs = F.softmax(shaped, dim=-1)
                chosen = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            logprob[rows] += log_probs.gather(1, chosen[:, None]).squeeze(1).double()
            done = chosen == BOUNDARY_ID if lines else torch.zeros_like(chosen, dtype=torch.bool)
            for row, token, ended in zip(rows.tolist(), chosen.tolist(), done.tolist(), strict=True):
                if ended:
                    finished[row] = True
                else:
                    generated[row].append(token)
            if done.any():
                keep = (~done).nonzero().squeeze(1)
                if len(keep) == 0:
                    break
                rows, chosen = rows[keep], chosen[keep]
                state = model.select_state(state, keep)
            logits, state = model.step(chosen, state)
    finally:
        model.train(was_training)
    return [
        Sample(
            text=prefix + vocab.decode(generated[i]),
            logprob=float(logprob[i]),
            num_tokens=len(generated[i]) + (1 if finished[i] else 0),
            finished=finished[i] or not lines,
        )
        for i in range(n)
    ]
