"""A recurrent model read step by step with its written-out cells, for the diagnostics:
every gate's values, and how far back the loss gradient reaches (``Recurrent.trace_recurrence``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def trace_recurrence(model: Any, idx: torch.Tensor, targets: torch.Tensor) -> dict[str, Any] | None:
    """The gates of every layer at every position of idx (B, T), and how much of the
    last position's loss gradient reaches each earlier position of the top layer:

        gates[k][name]: (B, T, H) values, e.g. the LSTM's forget gate of layer k
        reach[j] = mean_b |dL_T / dh_(T-1-j)| / mean_b |dL_T / dh_(T-1)|,  j = 0 .. T-1

    Read with the written-out cells (whatever ``cell_impl`` trains; the weights are
    the same), without dropout, and without touching any parameter's ``.grad``. None
    when no row's last target is real."""
    rows = targets[:, -1] >= 0
    if not bool(rows.any()):
        return None
    idx, targets = idx[rows], targets[rows]
    cell = model.equations_class.cell_class()
    stack = model.equations_class  # how a layer's state is packed (h, or (h, c))
    start = model.init_state(idx.shape[0])
    x = model.embedding(idx)  # (B, T, E)
    gates: list[dict[str, torch.Tensor]] = []
    for k in range(model.config.n_layer):
        w = model.layer_weights(k)
        s = tuple(start[name][:, k] for name in model.state_names)
        s = s if len(s) > 1 else s[0]
        outputs, values = [], []
        for t in range(idx.shape[1]):
            values.append(cell.gate_values(x[:, t], s, w))
            s = cell(x[:, t], s, w)
            outputs.append(stack.output_of(s))  # (B, H)
        gates.append({name: torch.stack([v[name] for v in values], 1).detach() for name in values[0]})
        x = torch.stack(outputs, dim=1)  # (B, T, H)
    loss = F.cross_entropy(model.head(outputs[-1]), targets[:, -1])
    grads = torch.autograd.grad(loss, outputs)  # dL_T / dh_t of the top layer, t = 0 .. T-1
    norms = torch.stack([g.norm(dim=1).mean() for g in reversed(grads)])  # j steps back
    return {"gates": gates, "reach": (norms / norms[0].clamp_min(1e-30)).tolist()}
