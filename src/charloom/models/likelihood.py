"""The likelihood of data under a model, teacher-forced: the one place it is computed.

Every figure charloom reports about how well a model predicts (the training loss, a
split's NLL, ``charloom score``, the judges of style transfer) is a sum of

    -log p(x_t | x_<t) = -log softmax(logits_t)[x_t]

over real targets, in nats. Targets equal to ``IGNORE`` (padding) count for nothing;
boundary tokens are real targets (predicting the end of a name is part of the task, as
in makemore). ``token_nll`` is that sum's one term; everything below is bookkeeping of
which logits and targets go in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from charloom.data.batches import IGNORE, Batches
from charloom.device import to_device
from charloom.models.base import CharModel


def token_nll(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "none") -> torch.Tensor:
    """-log p of each target under logits[..., V] (0 where the target is ``IGNORE``); with
    ``reduction`` "sum" or "mean", their sum, or their mean over real targets."""
    flat_logits = logits.reshape(-1, logits.shape[-1]).float()  # (N, V); a no-op in float32
    flat = F.cross_entropy(flat_logits, targets.reshape(-1), ignore_index=IGNORE, reduction=reduction)
    return flat.view(targets.shape) if reduction == "none" else flat


def nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The training loss: mean NLL in nats over the real targets."""
    return token_nll(logits, targets, "mean")


def nll_sum(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed NLL and the number of real targets, for exact token-weighted means."""
    return token_nll(logits, targets, "sum"), int((targets != IGNORE).sum())


@torch.no_grad()
def evaluate(
    model: CharModel, batches: Batches, batch_size: int = 512, max_targets: int | None = None
) -> dict[str, float]:
    """Mean NLL over the targets of a split (the first ``max_targets`` of them if given),
    with bits per character and perplexity. Batches that ``carries_state`` are read with
    the model's state carried from chunk to chunk: the NLL of one pass over the text.

    When ``max_targets`` cuts the split short, the mean is an estimate: ``stderr`` is its
    standard error, each chunk of ``batch_size`` rows taken as one sample of the split
    (the ratio estimator's: sum_i (nll_i - mean n_i)^2 / (k (k - 1) nbar^2) over k chunks),
    and ``exact`` is false."""
    was_training = model.training
    model.eval()
    chunk_nll, chunk_count = [], []
    device = model.device
    carried, cut, read = None, False, 0
    try:
        for inputs, targets in batches.chunks(batch_size):
            inputs, targets = to_device(inputs, device), to_device(targets, device)
            if batches.carries_state and carried is None:
                carried = model.init_state(inputs.shape[0])  # one pass: read on chunk to chunk
            logits, carried = model(inputs, carried, layout=batches.layout)
            loss, n = nll_sum(logits.float(), targets)  # summed in float32
            chunk_nll.append(float(loss))
            chunk_count.append(n)
            read += n
            if max_targets is not None and read >= max_targets:
                cut = True
                break
    finally:
        model.train(was_training)
    result = summary(sum(chunk_nll), read)
    result["exact"] = not cut
    if cut:
        k, mean = len(chunk_count), result["nll"]
        spread = sum((nll - mean * n) ** 2 for nll, n in zip(chunk_nll, chunk_count, strict=True))
        nbar = result["tokens"] / k
        result["stderr"] = math.sqrt(spread / (k * (k - 1))) / nbar if k > 1 else float("nan")
        result["of"] = batches.num_targets
    return result


def summary(total_nll: float, count: int) -> dict[str, float]:
    mean = total_nll / max(count, 1)
    return {"nll": mean, "bpc": mean / math.log(2), "perplexity": math.exp(min(mean, 700)), "tokens": count}


@torch.no_grad()
def token_logprobs(
    model: CharModel, sequences: Sequence[list[int]], batch_size: int = 256
) -> list[torch.Tensor]:
    """log p of every token after the first of each id sequence, float32[len - 1] each
    (batched by length so that little is padded; any length)."""
    out: list[torch.Tensor] = [torch.zeros(0)] * len(sequences)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            chunk = [i for i in order[start : start + batch_size] if len(sequences[i]) >= 2]
            if not chunk:
                continue
            longest = max(len(sequences[i]) for i in chunk)
            ids = torch.full((len(chunk), longest), IGNORE, dtype=torch.long, device=model.device)
            for row, i in enumerate(chunk):
                ids[row, : len(sequences[i])] = torch.tensor(sequences[i])
            inputs = ids[:, :-1].clamp(min=0)  # padding is never read before a real target
            logits, _ = model(inputs)  # (b, T - 1, V)
            logp = -token_nll(logits, ids[:, 1:])  # (b, T - 1)
            for row, i in enumerate(chunk):
                out[i] = logp[row, : len(sequences[i]) - 1].cpu()
    finally:
        model.train(was_training)
    return out
