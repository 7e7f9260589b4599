"""Muon (Jordan et al., 2024, the NanoGPT speedrun's optimiser) for the hidden matrices,
AdamW (Loshchilov and Hutter, 2019) for everything else, in one optimiser.

Muon is momentum SGD whose step for a weight matrix W (rows x cols) is orthogonalised:

    B_t = mu B_{t-1} + G_t                      momentum of the gradient G
    U_t = G_t + mu B_t                          Nesterov's look-ahead
    O_t = NS(U_t) ~ U V^T   where U_t = U S V^T every singular value moved near 1
    W_t = (1 - lr wd) W_{t-1} - lr sqrt(max(1, rows / cols)) O_t

A gradient's few large singular directions would dominate a plain step; the
orthogonalised step moves every direction the gradient names by about the same amount,
so rare directions learn as fast as common ones. NS is five steps of the quintic
Newton-Schulz iteration, from X_0 = U / ||U||_F (every singular value <= 1):

    A = X X^T,    X <- a X + (b A + c A^2) X,    (a, b, c) = (3.4445, -4.7750, 2.0315)

which maps each singular value s to a s + b s^3 + c s^5, a polynomial steep at 0 that
lands every s in about [0.7, 1.2] within five steps (Jordan's coefficients: not exactly
U V^T, which trains no worse). Wide matrices keep X X^T small, so tall ones are
transposed first. Matrices of the same shape are stacked and orthogonalised by batched
products: on a CPU a small model's dozen matrices cost four products an iteration, not
dozens.

Everything Muon should not train (embeddings, the output layer, gains, biases: see
``CharModel.adamw_only``) takes AdamW's step, written out:

    m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
    p <- (1 - lr wd) p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def orthogonalise(updates: torch.Tensor, steps: int = NS_STEPS) -> torch.Tensor:
    """NS(U) for a stack of matrices (N, rows, cols), rows <= cols: each with its singular
    values moved near 1 and its singular vectors kept."""
    a, b, c = NS_COEFFICIENTS
    x = updates / updates.norm(dim=(-2, -1), keepdim=True).clamp(min=1e-7)  # (N, r, c)
    for _ in range(steps):
        gram = x @ x.mT  # A = X X^T (N, r, r)
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)  # b A + c A^2
        x = torch.baddbmm(x, poly, x, beta=a)  # a X + (b A + c A^2) X
    return x


class Muon(torch.optim.Optimizer):
    """One optimiser over two kinds of param groups: ``muon=True`` groups (2-D weights)
    take Muon's step, the others AdamW's. Each group's ``lr`` is set by the trainer's
    schedule; a Muon group's ``lr_ratio`` scales it (``--muon-lr`` over ``--lr``)."""

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.95,
        betas: tuple[float, float] = (0.9, 0.99),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "muon": False,
            "lr_ratio": 1.0,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            if group["muon"] and any(p.dim() != 2 for p in group["params"]):
                raise ValueError("Muon orthogonalises matrices: its groups take 2-D parameters only")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                (self._muon_step if group["muon"] else self._adamw_step)(group, params)
        return loss

    def _muon_step(self, group: dict, params: list[torch.Tensor]) -> None:
        mu, lr, decay = group["momentum"], group["lr"], group["weight_decay"]
        by_shape: dict[tuple[int, int], list[tuple[torch.Tensor, torch.Tensor]]] = defaultdict(list)
        for p in params:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p)
            buffer = state["momentum_buffer"]
            buffer.mul_(mu).add_(p.grad)  # B = mu B + G
            update = p.grad.add(buffer, alpha=mu)  # U = G + mu B
            wide = update if p.shape[0] <= p.shape[1] else update.mT
            by_shape[tuple(wide.shape)].append((p, wide))
        for items in by_shape.values():
            ortho = orthogonalise(torch.stack([wide for _, wide in items]))
            for (p, _), o in zip(items, ortho, strict=True):
                rows, cols = p.shape
                if rows > cols:
                    o = o.mT
                if decay:
                    p.mul_(1 - lr * decay)
                p.add_(o, alpha=-lr * math.sqrt(max(1.0, rows / cols)))

    def _adamw_step(self, group: dict, params: list[torch.Tensor]) -> None:
        (b1, b2), lr, eps, decay = group["betas"], group["lr"], group["eps"], group["weight_decay"]
        grads, means, squares, steps = [], [], [], []
        for p in params:
            state = self.state[p]
            if "exp_avg" not in state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            grads.append(p.grad)
            means.append(state["exp_avg"])
            squares.append(state["exp_avg_sq"])
            steps.append(state["step"])
        torch._foreach_lerp_(means, grads, 1 - b1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(squares, b2)
        torch._foreach_addcmul_(squares, grads, grads, 1 - b2)  # v = b2 v + (1 - b2) g^2
        if decay:
            torch._foreach_mul_(params, 1 - lr * decay)
        denominators = torch._foreach_sqrt(squares)
        torch._foreach_div_(denominators, [math.sqrt(1 - b2**t) for t in steps])
        torch._foreach_add_(denominators, eps)  # sqrt(v / (1 - b2^t)) + eps
        torch._foreach_addcdiv_(params, means, denominators, [-lr / (1 - b1**t) for t in steps])
