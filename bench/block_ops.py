"""The transformer block's elementwise ingredients on the CPU: each as charloom writes it
beside the plain alternative, forward and backward, at the text default's shapes.

    python bench/block_ops.py [--threads 2] [--rows 32] [--context 128] [--width 128]

- norm: ``F.layer_norm`` (the default) against ``F.rms_norm`` and RMSNorm written out,
  over the width of the residual stream;
- QK-norm: queries and keys normalised as one stacked tensor against one call each;
- rotary positions: as the product x R_p (``models/rotary.py``) against the six
  elementwise passes and the concatenation of the formula;
- ReLU^2: the autograd function with its derivative written out (``transformer.py``)
  against ``relu(x).square()`` through autograd, and GELU for scale.

Each figure is the best of 30 forward + backward passes after 10 to warm up, in
milliseconds (large elementwise passes vary with the allocator and the machine's load;
the best is what the code costs).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from common import report

from charloom.models.rotary import Rotary, rotations
from charloom.models.transformer_block import ReLUSquared


def timed(fn, *shapes: tuple[int, ...], repeats: int = 30) -> float:
    inputs = [torch.randn(*shape, requires_grad=True) for shape in shapes]
    times = []
    for i in range(repeats + 10):
        start = time.perf_counter()
        out = fn(*inputs)
        out.backward(torch.ones_like(out))
        if i >= 10:
            times.append(time.perf_counter() - start)
    return 1000 * min(times)


def rotary_elementwise(cos: torch.Tensor, sin: torch.Tensor):
    def turn(x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)

    return turn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--json", action="store_true")
    p.add_argument("--write", metavar="FILE.md")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    B, T, C, nh = args.rows, args.context, args.width, args.heads
    hs = C // nh
    gain = torch.ones(C, requires_grad=True)
    rotary = Rotary(hs, T)
    half = rotations(hs, T)[:, : hs // 2, : hs // 2]  # R_p's top-left block: cos(p theta) on the diagonal
    cos = torch.diagonal(half, dim1=-2, dim2=-1)
    sin = torch.diagonal(rotations(hs, T)[:, : hs // 2, hs // 2 :], dim1=-2, dim2=-1)
    positions = torch.arange(T)
    relu_squared = ReLUSquared()
    rows = [
        ("norm", "layer_norm (default)", timed(lambda x: F.layer_norm(x, (C,), gain), (B, T, C))),
        ("norm", "rms_norm", timed(lambda x: F.rms_norm(x, (C,), gain), (B, T, C))),
        ("norm", "RMSNorm written out",
         timed(lambda x: x * torch.rsqrt(x.square().mean(-1, keepdim=True) + 1e-6) * gain, (B, T, C))),
        ("qk-norm", "layer_norm, q and k stacked (default)",
         timed(lambda qk: F.layer_norm(qk, (hs,)), (2, B, nh, T, hs))),
        ("qk-norm", "rms_norm, q and k apart",
         timed(lambda q, k: F.rms_norm(q, (hs,)) + F.rms_norm(k, (hs,)), (B, nh, T, hs), (B, nh, T, hs))),
        ("rotary", "x R_p, one product (default)", timed(lambda x: rotary(x, positions), (2, B, nh, T, hs))),
        ("rotary", "elementwise and concatenation", timed(rotary_elementwise(cos, sin), (2, B, nh, T, hs))),
        ("mlp activation", "ReLU^2, derivative written out (default)", timed(relu_squared, (B, T, 4 * C))),
        ("mlp activation", "relu(x).square() through autograd",
         timed(lambda x: F.relu(x).square(), (B, T, 4 * C))),
        ("mlp activation", "GELU", timed(F.gelu, (B, T, 4 * C))),
    ]  # fmt: skip
    report(
        [{"ingredient": a, "written as": b, "ms": ms} for a, b, ms in rows],
        args,
        section="block-ops",
        title="The transformer block's elementwise ingredients on the CPU (bench/block_ops.py)",
        notes=f"Forward and backward, the best of 30, at {B} rows x {T} characters, width {C}, {nh} heads, "
        f"{args.threads} threads.",
    )


if __name__ == "__main__":
    main()
