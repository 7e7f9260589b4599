"""The recurrent cells written out as the slide equations, one time step each, in
PyTorch's gate order and parameter layout, so that the weights of ``nn.RNN`` / ``nn.GRU``
/ ``nn.LSTM`` load into them unchanged. ``gate_values`` gives every gate of a step (read
by the diagnostics); ``forward`` the next state."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


class CellWeights(NamedTuple):
    """One layer's parameters, in PyTorch's layout: the gates stacked along dim 0."""

    weight_ih: torch.Tensor  # (G*H, I)
    weight_hh: torch.Tensor  # (G*H, H)
    bias_ih: torch.Tensor  # (G*H,)
    bias_hh: torch.Tensor  # (G*H,)


class RNNCell(nn.Module):
    """One step of the vanilla (Elman) RNN:

    h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    """

    gates: ClassVar[int] = 1

    def gate_values(self, x: torch.Tensor, h: torch.Tensor, w: CellWeights) -> dict[str, torch.Tensor]:
        # x: (B, I), h: (B, H) -> the new state h' (B, H), the cell's only nonlinearity
        return {
            "candidate": torch.tanh(F.linear(x, w.weight_ih, w.bias_ih) + F.linear(h, w.weight_hh, w.bias_hh))
        }

    def forward(self, x: torch.Tensor, h: torch.Tensor, w: CellWeights) -> torch.Tensor:
        return self.gate_values(x, h, w)["candidate"]


class GRUCell(nn.Module):
    """One step of the GRU in PyTorch's variant of Cho et al. (2014), gate order r, z, n
    as in ``nn.GRU``:

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        reset: how much of h the candidate sees
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)        update: keep the old h or take the new
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate
    h' = (1 - z) * n + z * h

    Cho et al. (and the slides) reset the state before the product, W_hn (r * h); the
    variant resets the product, which lets one matrix product serve all three gates.

    With z near 1 the state passes through unchanged, which is what lets gradients
    travel across many steps where the vanilla RNN's vanish.
    """

    gates: ClassVar[int] = 3

    def gate_values(self, x: torch.Tensor, h: torch.Tensor, w: CellWeights) -> dict[str, torch.Tensor]:
        x_r, x_z, x_n = F.linear(x, w.weight_ih, w.bias_ih).chunk(3, dim=1)  # 3 x (B, H)
        h_r, h_z, h_n = F.linear(h, w.weight_hh, w.bias_hh).chunk(3, dim=1)  # 3 x (B, H)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return {"reset": r, "update": z, "candidate": n}

    def forward(self, x: torch.Tensor, h: torch.Tensor, w: CellWeights) -> torch.Tensor:
        gate = self.gate_values(x, h, w)
        z, n = gate["update"], gate["candidate"]
        return (1 - z) * n + z * h


class LSTMCell(nn.Module):
    """One step of the LSTM (Hochreiter & Schmidhuber, 1997), gate order i, f, g, o as in
    ``nn.LSTM``:

    i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)        input gate
    f  = sigmoid(W_if x + b_if + W_hf h + b_hf)        forget gate
    g  = tanh(W_ig x + b_ig + W_hg h + b_hg)           candidate
    o  = sigmoid(W_io x + b_io + W_ho h + b_ho)        output gate
    c' = f * c + i * g                                 the cell: an additive memory
    h' = o * tanh(c')
    """

    gates: ClassVar[int] = 4

    def gate_values(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w: CellWeights
    ) -> dict[str, torch.Tensor]:
        h, _ = state  # (B, H) each
        gates = F.linear(x, w.weight_ih, w.bias_ih) + F.linear(h, w.weight_hh, w.bias_hh)
        i, f, g, o = gates.chunk(4, dim=1)  # 4 x (B, H)
        return {"input": torch.sigmoid(i), "forget": torch.sigmoid(f), "candidate": torch.tanh(g),
                "output": torch.sigmoid(o)}  # fmt: skip

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w: CellWeights
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gate = self.gate_values(x, state, w)
        c = gate["forget"] * state[1] + gate["input"] * gate["candidate"]
        h = gate["output"] * torch.tanh(c)
        return h, c
