"""BatchNorm statistics measured on the whole training set, after training.

During training each BatchNorm keeps a moving average of its batches' mean and variance;
with a small momentum it lags the weights. The lectures' alternative: once training is
done, run the training set through the network once and take each layer's mean and
variance over all of it. Here the set goes through in chunks, each BatchNorm averaging the
chunks' statistics with weight 1/k for the k-th (its momentum), so the result is the mean
over equal chunks: the full set's mean, and its variance up to the spread of the chunk
means, which chunks of tens of thousands make negligible.
"""

from __future__ import annotations

import torch
from torch import nn

from charloom.models.layers import BatchNorm1d

CHUNK = 32_768  # examples a pass; the last, smaller chunk is left out so the chunks weigh alike


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, batches) -> int:
    """Set every BatchNorm's running statistics from the training split; returns how many
    layers were set (0: the model has none, nothing is done)."""
    norms = [m for m in model.modules() if isinstance(m, BatchNorm1d | nn.BatchNorm1d)]
    if not norms:
        return 0
    was_training, momenta = model.training, [m.momentum for m in norms]
    model.eval()
    for norm in norms:  # only the norms see training mode: dropout stays off
        norm.train()
    try:
        chunks = list(batches.chunks(CHUNK))
        full = [chunk for chunk in chunks if len(chunk[1]) == len(chunks[0][1])] or chunks[:1]
        for k, (inputs, _) in enumerate(full, 1):
            for norm in norms:
                norm.momentum = 1.0 / k  # the running value becomes the mean of the k chunks
            model(inputs, layout=batches.layout)
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.train(was_training)
    return len(norms)
