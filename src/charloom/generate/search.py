"""Inference-time search: sample many and filter, beam search, best-of-N, refinement.

Every function here works through a ``Task`` (``task.py``: a model, its vocabulary,
compiled constraints, decoding parameters and a random generator) and so through ``step``
and ``select_state`` only: any model family, batched.

- ``draw``: sample in batches until ``needed`` items pass every filter or ``budget``
  attempts are spent. Batch sizes follow the acceptance rate seen so far.
- ``beam_search``: the ``num_beams`` most likely partial items are extended together,
  one batch row each; finished items are collected; see its docstring for lengths.
- ``best_of``: draw N candidates per item to return, keep the best by a scorer.
- ``refine``: rewrite each item from its most surprising character on, keep the rewrite
  when the scorer prefers it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from charloom.data.vocab import BOUNDARY_ID
from charloom.generate.samples import Sample
from charloom.generate.sampling import Forced, texts_of
from charloom.generate.scoring import Scorer, encode_for_scoring, token_logprobs
from charloom.generate.task import Task
from charloom.models.size import check_memory

MAX_BATCH = 16_384  # rows decoded at once while filtering


@dataclass
class Drawn:
    """Items that passed, how many were drawn to get them, and after how many draws the
    patterns were masked (None: never; 0: from the start)."""

    items: list[Sample]
    tried: int
    masked_after: int | None


ENFORCE = ("auto", "mask", "reject")


def draw(task: Task, needed: int, budget: int, enforce: str = "auto") -> Drawn:
    """Sample until ``needed`` items pass every filter, or ``budget`` items were drawn.

    ``tried`` counts draws up to the last one that was needed (draws of the final batch
    after it were never looked at), so tried / kept is the acceptance rate.

    ``enforce`` says how ``ends_with`` and ``contains`` are met. ``reject``: draw without
    their masks and keep the items that comply, which samples the model's distribution
    conditioned on them exactly but may spend the budget; ``mask``: steer every draw with
    the automaton; ``auto``: reject while the acceptance rate seen so far lets the items
    still wanted fit in a quarter of the budget left, then mask."""
    accepted: list[Sample] = []
    taken: set[str] = set()
    tried = 0
    relaxed = task.compiled.patterns and enforce != "mask"
    masked_after = 0 if task.compiled.patterns and not relaxed else None
    while len(accepted) < needed and tried < budget:
        remaining = needed - len(accepted)
        if not task.filters and not relaxed:
            size = remaining  # masks alone: every draw passes
        elif tried == 0:
            size = math.ceil(remaining * 1.25) + 8
        else:
            rate = max(len(accepted), 1) / tried  # a pessimistic rate while nothing passed
            size = math.ceil(remaining / rate * 1.2) + 8
        size = max(1, min(size, budget - tried, MAX_BATCH))
        batch = task.samples(task.decode(size, relaxed=relaxed))
        if not task.constrained:
            accepted.extend(batch)
            tried += size
            continue
        for i, sample in enumerate(batch):
            if task.acceptable(sample, taken):
                accepted.append(sample)
                taken.add(sample.text)
                if len(accepted) == needed:
                    tried += i + 1
                    break
        else:
            tried += size
            if relaxed and enforce == "auto":
                rate = len(accepted) / tried
                if rate == 0 or (needed - len(accepted)) / rate > (budget - tried) / 4:
                    relaxed, masked_after = False, tried
    return Drawn(accepted, tried, masked_after)


def score_samples(samples: Sequence[Sample], scorer: Scorer) -> None:
    for sample, value in zip(samples, scorer([s.text for s in samples]), strict=True):
        sample.score = value


def best_of(
    task: Task, n: int, per_item: int, scorer: Scorer, budget: int, enforce: str = "auto"
) -> tuple[list[Sample], Drawn]:
    """Draw ``per_item`` candidates for each of ``n`` items; keep the best of each group.
    With a short budget the last group may be smaller."""
    drawn = draw(task, n * per_item, budget, enforce)
    score_samples(drawn.items, scorer)
    groups = [drawn.items[i : i + per_item] for i in range(0, len(drawn.items), per_item)]
    return [max(group, key=lambda s: s.score) for group in groups][:n], drawn


@torch.no_grad()
def beam_search(
    task: Task, num_beams: int, n: int, length_penalty: float = 0.0, include_greedy: bool = True
) -> tuple[list[Sample], int, int]:
    """The ``n`` best items by beam search; returns them (best first), how many finished
    hypotheses were considered and how many of those passed the filters.

    Each step extends every live hypothesis by every allowed token (constraint masks
    apply) and ranks the ``2 * num_beams`` best extensions; those among the first
    ``num_beams`` that end are set aside (if they pass the filters), and the search goes on
    with the ``num_beams`` best that do not end (as in Hugging Face, so that one beam is
    exactly greedy decoding).
    The score of a finished item is ``log p(x) / num_tokens ** length_penalty`` (its end
    counted as a token): 0 ranks by likelihood (short items win, as they should under
    the model), 1 by likelihood per character, and in between is a compromise. The search
    stops when no live hypothesis can beat the n-th finished one: with length_penalty 0
    log-probabilities only fall as an item grows, so that test is exact.

    With ``include_greedy`` the greedy item is decoded too and joins the finished ones:
    plain beam search can lose the greedy path (it falls out of the beam, then its rivals
    end worse), and then returns something less likely than greedy decoding would.
    """
    model, lines = task.model, task.lines
    forced = task.forced_ids
    # the scores of every beam's extensions (float64) and their ranking, at each step
    check_memory(
        num_beams * model.vocab_size * 8 * 4, f"beam search with {num_beams:,} beams", "use fewer --num-beams"
    )
    # beam search searches, it does not sample: only the processors that forbid tokens are on
    processors = task.decoding.processors(lines, task.compiled.mask)
    steps = task.steps
    was_training = model.training
    model.eval()
    finished: dict[str, Sample] = {}
    considered = 0
    try:
        state = model.init_state(1)
        device = model.device
        first = BOUNDARY_ID if lines else task.compiled.forced_ids[0]
        token = torch.tensor([first], device=device)
        history = torch.zeros(1, 0, dtype=torch.long, device=device)
        scores = torch.zeros(1, dtype=torch.float64, device=device)  # log p of each live hypothesis
        processors.reset(1, first, model.vocab_size, device)
        for t in range(steps):
            logits, state = model(token[:, None], state)  # (b, 1, V)
            log_probs = F.log_softmax(logits[:, -1].float(), dim=-1).double()  # (b, V)
            if t < len(forced):
                allowed = torch.zeros_like(log_probs, dtype=torch.bool)
                allowed[:, forced[t]] = True
            else:
                allowed = torch.isfinite(processors(t, log_probs))
            total = (scores[:, None] + log_probs).masked_fill(~allowed, -math.inf)  # (b, V)
            V = total.shape[1]
            top = torch.topk(total.view(-1), min(2 * num_beams, int(allowed.sum())))
            origin, chosen = top.indices // V, top.indices % V
            if lines:
                ended = chosen == BOUNDARY_ID
            else:  # running text ends where the steps do
                ended = torch.full_like(chosen, t == steps - 1, dtype=torch.bool)
            ranked_in = ended.clone()
            ranked_in[num_beams:] = False  # an ending ranked below the beam is not taken
            if bool(ranked_in.any()):
                rows = ranked_in.nonzero().squeeze(1)
                candidates = torch.cat([history[origin[rows]], chosen[rows, None]], dim=1)
                for text, logprob in zip(
                    texts_of(candidates, task.vocab, _start(task)), top.values[rows].tolist(), strict=True
                ):
                    considered += 1
                    sample = Sample(text, logprob, t + 1, True)
                    sample.score = logprob / (t + 1) ** length_penalty
                    if task.acceptable(sample, set(finished)):
                        finished[text] = sample
            live = (~ended).nonzero().squeeze(1)[:num_beams]
            if len(live) == 0:
                break
            origin, chosen = origin[live], chosen[live]
            history = torch.cat([history[origin], chosen[:, None]], dim=1)
            scores = top.values[live]
            state = model.select_state(state, origin)
            processors.select(origin)
            processors.advance(chosen)
            token = chosen
            if len(finished) >= n:
                nth = sorted((s.score for s in finished.values()), reverse=True)[n - 1]
                if _best_possible(float(scores.max()), t + 1, steps, length_penalty) <= nth:
                    break
    finally:
        model.train(was_training)
    if include_greedy:
        [greedy] = task.samples(task.decode(1, decoding=task.decoding.decoding(temperature=0.0)))
        considered += 1
        greedy.score = greedy.logprob / greedy.num_tokens**length_penalty
        if greedy.text not in finished and task.acceptable(greedy, set(finished)):
            finished[greedy.text] = greedy
    ranked = sorted(finished.values(), key=lambda s: s.score, reverse=True)
    return ranked[:n], considered, len(finished)


def _start(task: Task) -> str:
    return "" if task.lines else task.compiled.forced[0]


def _best_possible(logprob: float, length: int, steps: int, length_penalty: float) -> float:
    """An upper bound on the final score of a live hypothesis with ``logprob`` after
    ``length`` tokens: log p only falls; the length divisor is at its most favourable."""
    if length_penalty > 0:
        return logprob / steps**length_penalty
    return logprob / (length + 1) ** length_penalty


def refine(task: Task, samples: list[Sample], rounds: int, scorer: Scorer) -> int:
    """Rewrite each sample from its most surprising token on, ``rounds`` times; keep a
    rewrite when ``scorer`` rates it higher. Returns how many rewrites were kept.

    Round: score every token (surprisal = -log p), find the highest after the forced
    prefix, keep the item up to it, decode the rest again (all items in one batch, each
    with its own forced prefix). A rewrite must pass every constraint as well."""
    if not samples or rounds < 1:
        return 0
    if any(s.score is None for s in samples):
        score_samples(samples, scorer)
    start = len(task.forced_ids)
    kept = 0
    for _ in range(rounds):
        sequences = [encode_for_scoring(task.vocab, s.text) for s in samples]
        surprisal = [-logp for logp in token_logprobs(task.model, sequences)]
        emitted = [seq[1:] for seq in sequences]  # what decoding emitted: targets of the scores
        cut = [start + int(torch.argmax(s[start:])) if len(s) > start else len(s) for s in surprisal]
        width = max(cut)
        prefixes = torch.full((len(samples), width), -1, dtype=torch.long)
        for row, (tokens, at) in enumerate(zip(emitted, cut, strict=True)):
            prefixes[row, :at] = torch.tensor(tokens[:at], dtype=torch.long)
        rewrites = task.samples(task.decode(len(samples), forced=Forced.rows(prefixes)))
        values = scorer([r.text for r in rewrites])
        texts = {s.text for s in samples}
        for i, (rewrite, value) in enumerate(zip(rewrites, values, strict=True)):
            others = texts - {samples[i].text}
            if value > samples[i].score and task.acceptable(rewrite, others):
                rewrite.score = value
                texts = others | {rewrite.text}
                samples[i] = rewrite
                kept += 1
    return kept
