"""Rotary position embeddings (Su et al., 2021, "RoFormer"), the transformer's relative
positions.

Split a query or key of size hs into two halves (x1, x2) and turn each pair
(x1_i, x2_i) by the angle p * theta_i, where p is the position and
theta_i = base^(-2i / hs):

    rot(x, p) = (x1 cos(p theta) - x2 sin(p theta),  x1 sin(p theta) + x2 cos(p theta))
              = x R_p,   R_p the (hs x hs) rotation with those cosines and sines

A rotation keeps lengths, and rot(q, p) . rot(k, s) = q R_p R_s^T k^T = q R_{p-s} k^T
depends on p - s alone: attention sees how far back a character is, never where in the
window it sits, and no position table is learned. The halves are contiguous blocks (the
GPT-NeoX layout), the same maths as interleaved pairs with the dimensions permuted.

The rotation is applied as the product x R_p: on a CPU one batched product per call
costs half of the six elementwise passes and the concatenation that the formula above
takes (docs/tuning.md).
"""

from __future__ import annotations

import torch
from torch import nn

BASE = 10_000.0


def rotations(head_size: int, max_positions: int, base: float = BASE) -> torch.Tensor:
    """R_p for p = 0 .. max_positions - 1: (P, hs, hs), x R_p turning x by p theta."""
    half = head_size // 2
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float64) / head_size)  # (hs/2,)
    angles = torch.outer(torch.arange(max_positions, dtype=torch.float64), theta)  # (P, hs/2)
    cos, sin = angles.cos(), angles.sin()
    R = torch.zeros(max_positions, head_size, head_size, dtype=torch.float64)
    i = torch.arange(half)
    # x R: out_i = x1_i cos - x2_i sin,  out_{half+i} = x1_i sin + x2_i cos
    R[:, i, i] = cos
    R[:, half + i, i] = -sin
    R[:, i, half + i] = sin
    R[:, half + i, half + i] = cos
    return R.float()


class Rotary(nn.Module):
    """Turns queries and keys by their positions; the rotations are a fixed table, not
    weights (not saved with the model)."""

    def __init__(self, head_size: int, max_positions: int, base: float = BASE):
        super().__init__()
        if head_size % 2:
            raise ValueError(f"rotary positions need an even head size, got {head_size}")
        self.register_buffer("R", rotations(head_size, max_positions, base), persistent=False)

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x (..., T, hs) at ``positions`` (T,) shared by every row, or (B, T) per row
        with x (..., B, nh, T, hs) (packed items restart at 0) -> x R_p, same shape."""
        R = self.R[positions].to(x.dtype)  # (T, hs, hs) or (B, T, hs, hs)
        if positions.dim() == 2:
            return torch.einsum("...bhtd,btde->...bhte", x, R)
        return torch.einsum("...td,tde->...te", x, R)
