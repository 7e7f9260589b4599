"""The decoding loop.

One loop serves every family and every search, reading a token at a time on from the
model's state through its one entry point: rows are batched, token buffers are
tensors, and no Python code runs per row or per character. At each
step the model's next-token logits go through a list of logits processors
(``processors.py``: the constraint mask, repetition penalty, no-repeat n-grams,
temperature, top-k, top-p, min-p, typical-p, in the order Hugging Face's ``generate``
applies them), and the token is drawn from the
softmax of the result, or taken as its argmax at temperature 0. Forced tokens (a prefix,
or the kept part of a candidate being refined) override the draw. Whatever was drawn,
the loop records the model's own log-probability of the token (at temperature 1,
unmasked), so that ``Sample.logprob`` is always the likelihood ``charloom score``
reports. Which rows are computed, and when finished ones leave, is ``rows.py``'s job.

Line mode: every row starts from the boundary and ends at the next one. Text mode: the
first prefix character is the start, and rows run for ``max_new_tokens`` characters.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.generate.processors import LogitsProcessorList, build_processors
from charloom.generate.processors import controls as processor_controls
from charloom.generate.rows import Rows, shared_steps
from charloom.generate.samples import Sample
from charloom.models.base import CharModel
from charloom.models.context import check_fits
from charloom.models.size import check_memory
from charloom.options import check_count, check_options, option


@dataclass
class Decoding:
    """How each next token is chosen: the controls of the registered logits processors
    (``processors.py``; names as in Hugging Face ``generate``), given by name in
    ``controls``, and how long a continuation may run."""

    controls: dict[str, Any] = field(default_factory=dict)
    max_new_tokens: int | None = option(
        None,
        help="longest continuation, end included (default 100 lines, 500 text)",
        minimum=1,
        group="decoding",
    )

    def __post_init__(self):
        check_options(self)
        known = processor_controls()
        unknown = sorted(set(self.controls) - set(known))
        if unknown:
            raise CharloomError(f"no decoding control {unknown[0]!r}; the controls: {', '.join(known)}")
        build_processors(self.controls, lines=True)  # each processor checks its own bounds

    def control(self, name: str) -> Any:
        """A control's value: as given, else its processor's default."""
        return self.controls.get(name, processor_controls()[name].default)

    def decoding(self, **changes: Any) -> Decoding:
        """Just the decoding (of a ``SampleOptions`` too), with ``changes`` (controls by name)."""
        max_new = changes.pop("max_new_tokens", self.max_new_tokens)
        return Decoding({**self.controls, **changes}, max_new)

    @property
    def greedy(self) -> bool:
        return self.control("temperature") == 0

    def processors(self, lines: bool, mask: Any = None) -> LogitsProcessorList:
        """The logits processors this decoding turns on, the constraint mask first."""
        return build_processors(self.controls, lines, mask)


def sample_weights(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row, drawn with probability proportional to ``weights[B, V]`` (>= 0, not
    necessarily normalised), by inverting the cumulative sum: the first v whose cumulative
    weight exceeds u * total, u ~ U[0, 1). A zero weight is never drawn. (Several times
    faster than ``torch.multinomial`` for one draw per row.)"""
    cdf = weights.double().cumsum(dim=-1)  # float64: u * total stays below the last entry
    u = torch.rand(weights.shape[0], 1, generator=generator, dtype=torch.float64, device=weights.device)
    u = u * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(1)


# -- the loop ----------------------------------------------------------------------------
@dataclass
class Decoded:
    """The raw result of one batch: token ids, -1 after a row's end."""

    tokens: torch.Tensor  # (B, T) every emitted token, forced ones and the end boundary included
    token_logprob: torch.Tensor  # (B, T) model log-probability of each, 0 after the end
    finished: torch.Tensor  # (B,) bool: ended with the boundary
    start: str = ""  # text mode: the first prefix character, which is context, not emitted

    @property
    def num_tokens(self) -> torch.Tensor:
        return (self.tokens >= 0).sum(dim=1)

    @property
    def logprob(self) -> torch.Tensor:
        return self.token_logprob.double().sum(dim=1)


@dataclass
class Forced:
    """Tokens that override the draw: ``tokens[B, P]`` with -1 where the row is free.
    ``shared`` is how many leading steps are forced in every row (nothing to draw there)."""

    tokens: torch.Tensor
    shared: int = field(default=0)

    @classmethod
    def prefix(cls, ids: list[int], batch_size: int) -> Forced | None:
        if not ids:
            return None
        return cls(torch.tensor(ids, dtype=torch.long).expand(batch_size, -1), len(ids))

    @classmethod
    def rows(cls, prefixes: torch.Tensor) -> Forced:
        """Per-row prefixes of different lengths, -1 padded on the right."""
        lengths = (prefixes >= 0).sum(dim=1)
        return cls(prefixes, int(lengths.min()) if len(lengths) else 0)


def decode(model: CharModel, batch_size: int, **options: Any) -> Decoded:
    """Run ``decode_steps`` to the end: ``batch_size`` rows for at most ``steps`` tokens."""
    return drain(decode_steps(model, batch_size, **options))


def drain(steps: Iterator[Any]) -> Any:
    """Exhaust a generator; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


Step = tuple[int, torch.Tensor, torch.Tensor]  # t, output rows still going, the token each emitted


@torch.no_grad()
def decode_steps(
    model: CharModel,
    batch_size: int,
    *,
    steps: int,
    lines: bool = True,
    start_token: int | None = None,
    forced: Forced | None = None,
    decoding: Decoding | None = None,
    mask=None,
    generator: torch.Generator | None = None,
) -> Generator[Step, None, Decoded]:
    """Run ``batch_size`` rows for at most ``steps`` tokens through ``model.step``, yielding
    what each step emitted (for streaming) and returning every row at the end.

    ``mask`` (a ``automata.TokenMask``) allows tokens by step and automaton state;
    ``start_token`` is the first input in text mode (line mode starts from the boundary).
    """
    decoding = decoding or Decoding()
    B, device = batch_size, model.device
    # every row's tokens (int64) and their log-probabilities (float32), for every step
    check_memory(B * steps * 12, f"decoding {B:,} rows of {steps:,} tokens", "ask for fewer --max-new-tokens")
    tokens = torch.full((B, steps), -1, dtype=torch.long, device=device)
    token_logprob = torch.zeros(B, steps, device=device)
    first = BOUNDARY_ID if lines else int(start_token if start_token is not None else 0)
    token = torch.full((B,), first, dtype=torch.long, device=device)
    processors = decoding.processors(lines, mask)
    processors.reset(B, first, model.vocab_size, device)
    rows = Rows(B, leave_at_once=mask is not None, device=device)
    if forced is not None:
        forced = Forced(forced.tokens.to(device), forced.shared)
    together = shared_steps(forced.tokens if forced is not None else None, forced.shared if forced else 0)
    was_training = model.training
    model.eval()
    try:
        state = model.init_state(1)
        for t in range(steps):
            if t < together:  # every row alike so far: one row computes it for all
                logits, state = model(token[:1, None], state)  # (1, 1, V)
                logits = logits[:, -1].expand(B, -1)
                if t == together - 1:
                    state = model.select_state(state, torch.zeros(B, dtype=torch.long, device=device))
            else:
                logits, state = model(token[:, None], state)  # (b, 1, V)
                logits = logits[:, -1]
            logits = logits.float()
            top = logits.amax(dim=-1, keepdim=True)
            weights = torch.exp(logits - top)  # softmax up to a constant, shared by both uses
            # the model's own log p(v) = logits[v] - normaliser, whatever the draw was from
            normaliser = top.squeeze(1) + weights.sum(dim=-1).log()
            if forced is not None and t < forced.shared:
                chosen = forced.tokens[rows.index, t]
            else:
                chosen = choose(t, logits, weights, processors, decoding.greedy, generator)
                if forced is not None and t < forced.tokens.shape[1]:
                    wanted = forced.tokens[rows.index, t]
                    chosen = torch.where(wanted >= 0, wanted, chosen)
            logprob = logits.gather(1, chosen[:, None]).squeeze(1) - normaliser
            going = rows.going  # a finished row waiting in the batch: its draw is dropped
            out = rows.index[going]
            emitted = chosen[going]
            tokens[out, t], token_logprob[out, t] = emitted, logprob[going]
            yield t, out, emitted
            processors.advance(chosen)
            if lines:
                keep = rows.end(chosen == BOUNDARY_ID)
                if rows.all_done:
                    break
                if keep is not None:
                    chosen = chosen[keep]
                    state = model.compact_state(state, keep)
                    processors.select(keep)
            token = chosen
    finally:
        model.train(was_training)
    finished = rows.finished if lines else torch.ones(B, dtype=torch.bool, device=device)
    return Decoded(tokens, token_logprob, finished)


def choose(
    t: int,
    logits: torch.Tensor,
    weights: torch.Tensor,
    processors: LogitsProcessorList,
    greedy: bool,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """One token per row from the processed logits: their argmax when greedy, else a draw
    from their softmax. With no processor the draw reuses the unnormalised softmax
    ``weights`` already computed for the log-probabilities. A row the processors leave no
    token (the no-repeat rule against the constraints) draws from the model itself; its
    item then fails the checks and is drawn again."""
    if not processors and not greedy:
        return sample_weights(weights, generator)
    shaped = processors(t, logits)
    stuck = torch.isneginf(shaped).all(dim=-1, keepdim=True)  # no test on the host: no wait for it
    shaped = torch.where(stuck, logits, shaped)
    if greedy:
        return shaped.argmax(dim=-1)
    return sample_weights(torch.exp(shaped - shaped.amax(dim=-1, keepdim=True)), generator)


def texts_of(tokens: torch.Tensor, vocab: Vocab, start: str = "") -> list[str]:
    """Token rows (-1 padded, boundaries anywhere dropped) to strings, without a Python
    loop over characters: ids become code points and numpy reads each row as one string
    (its fixed-width strings drop trailing NULs, which is what -1 and the boundary map to)."""
    B, T = tokens.shape
    if T == 0:
        return [start] * B
    offset = 1 if vocab.boundary else 0
    table = np.zeros(vocab.size + 1, dtype=np.uint32)  # last slot: padding (-1)
    table[offset : offset + len(vocab.chars)] = [ord(c) for c in vocab.chars]
    points = table[tokens.cpu().numpy()]  # -1 indexes the last slot, 0
    texts = np.ascontiguousarray(points).view(f"<U{T}").reshape(B).tolist()
    return [start + text for text in texts] if start else texts


def to_samples(decoded: Decoded, vocab: Vocab) -> list[Sample]:
    texts = texts_of(decoded.tokens, vocab, decoded.start)
    logprob = decoded.logprob.tolist()
    counts = decoded.num_tokens.tolist()
    finished = decoded.finished.tolist()
    return [
        Sample(text, lp, count, done)
        for text, lp, count, done in zip(texts, logprob, counts, finished, strict=True)
    ]


def generate(
    model: CharModel,
    vocab: Vocab,
    n: int = 10,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    prefix: str = "",
    max_new_tokens: int = 100,
    generator: torch.Generator | None = None,
) -> list[Sample]:
    """Draw ``n`` samples with no constraints (the trainer's samples use this; ``Run.sample``
    adds constraints and search). Temperature 0 is greedy decoding."""
    controls = {
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "repetition_penalty": repetition_penalty,
    }
    decoding = Decoding(controls, max_new_tokens)
    check_count(n)
    prefix_ids = vocab.encode(prefix, where="prefix")
    lines = vocab.boundary
    check_fits(model, len(prefix_ids), "the prefix", lines)
    if not lines and not prefix_ids:
        raise CharloomError("a text model needs a --prefix to continue")
    forced_ids = prefix_ids if lines else prefix_ids[1:]
    decoded = decode(
        model,
        n,
        steps=len(forced_ids) + max_new_tokens,
        lines=lines,
        start_token=None if lines else prefix_ids[0],
        forced=Forced.prefix(forced_ids, n),
        decoding=decoding,
        generator=generator,
    )
    decoded.start = "" if lines else prefix[0]
    return to_samples(decoded, vocab)
