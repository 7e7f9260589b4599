"""Data-parallel training under ``torchrun`` (PyTorch DDP), and nothing when run alone.

``torchrun --nproc_per_node=N -m charloom train ...`` starts N processes with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set; ``detect`` reads them. Each process
builds the same model from the same seed and draws the same *global* batch from the
same batch generator (``--batch-size`` is the global batch), then keeps its own
contiguous slice of ``batch_size / N`` rows. The union of the slices is exactly the
batch a single process would draw, so the run matches a single-process run up to the
order of floating-point sums, and every rank's batch generator stays in the same
state, which makes a checkpoint written by rank 0 resumable by any world size.

The loss of a slice is its summed NLL divided by the number of real targets in the
*global* batch (times N, because DDP averages gradients), so the token-weighted mean
of padded sequence batches is exact too. Only rank 0 writes the run.

BatchNorm under DDP normalises with the statistics of the whole global batch: each
layer all-reduces its sums of x and x^2 (models/layers.py), so the weights and running
statistics match a single process within float tolerance. Dropout masks differ from a
single process. On CUDA each process takes the GPU of its local rank and NCCL carries the
gradients; on the CPU, gloo, and each process takes its share of the cores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from charloom.data.batches import IGNORE, Layout
from charloom.errors import CharloomError
from charloom.models.likelihood import nll, nll_sum

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Where this process stands: world size, its rank, its rank on this machine."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def detect(env: dict[str, str] | None = None) -> Context:
    """Read torchrun's environment; without it this is a single process."""
    env = dict(os.environ if env is None else env)
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise CharloomError("WORLD_SIZE, RANK and LOCAL_RANK must be integers; start with torchrun") from None
    if world < 1 or not 0 <= rank < world:
        raise CharloomError(f"RANK {rank} is not within WORLD_SIZE {world}; start with torchrun")
    return Context(world, rank, local)


def setup(device: str = "auto") -> Context:
    """Join the process group when started by torchrun: NCCL when the processes train on
    CUDA GPUs (one each, by local rank), gloo on the CPU."""
    ctx = detect()
    if ctx.enabled and not dist.is_initialized():
        wanted = "cuda" if device == "auto" and torch.cuda.is_available() else device
        on_gpu = str(wanted).startswith("cuda")
        if on_gpu:
            torch.cuda.set_device(ctx.local_rank)
        else:
            threads_per_rank(ctx)
        dist.init_process_group(backend=backend(torch.device("cuda" if on_gpu else "cpu")))
    return ctx


def threads_per_rank(ctx: Context) -> None:
    """On the CPU, N processes on one machine share its cores: each takes its share, unless
    OMP_NUM_THREADS says otherwise (N processes with a thread per core each would fight)."""
    if "OMP_NUM_THREADS" not in os.environ:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", ctx.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(local_world, 1)))


def rank_device(device: torch.device, ctx: Context) -> torch.device:
    """Under torchrun on CUDA each process takes the GPU of its local rank."""
    if ctx.enabled and device.type == "cuda":
        return torch.device("cuda", ctx.local_rank)
    return device


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def teardown(ctx: Context) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def session(device: str = "auto") -> Iterator[Context]:
    """The process group for the length of one run (nothing when run alone)."""
    ctx = setup(device)
    try:
        yield ctx
    finally:
        teardown(ctx)


def barrier(ctx: Context) -> None:
    if ctx.enabled:
        dist.barrier()


def on_main(ctx: Context, fn: Callable[[], T]) -> T:
    """Run ``fn`` (which writes files) on rank 0 only and give every rank its result.
    If rank 0 fails, every rank fails with the same one-line error instead of waiting
    for a message that never comes."""
    result: Any = None
    error: str | None = None
    failure: BaseException | None = None
    if ctx.is_main:
        try:
            result = fn()
        except BaseException as exc:  # re-raised below, after the others are told
            failure = exc
            error = str(exc) if isinstance(exc, CharloomError) else f"rank 0 failed ({type(exc).__name__})"
    if ctx.enabled:
        box = [result, error]
        dist.broadcast_object_list(box, src=0)
        result, error = box
    if failure is not None:
        raise failure
    if error is not None:
        raise CharloomError(error)
    return result


class StepLoss:
    """The training loss of one step: of the whole batch in one process, of this rank's
    slice of the global batch under DDP."""

    def __init__(self, ctx: Context, model: nn.Module, batch_size: int, layout: Layout = Layout.SEQUENCE):
        self.ctx, self.model, self.layout = ctx, model, layout
        self.module: nn.Module | None = None
        if ctx.enabled:
            if batch_size % ctx.world_size:
                raise CharloomError(
                    f"--batch-size is the global batch and must divide by the {ctx.world_size} "
                    f"processes, got {batch_size}; use a multiple of {ctx.world_size}"
                )
            self.module = nn.parallel.DistributedDataParallel(model)
        self.rows = batch_size // ctx.world_size
        self.forward = model  # torch.compile may replace it

    @property
    def enabled(self) -> bool:
        return self.ctx.enabled

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor, state=None):
        """(loss to backpropagate, the global batch's mean loss, the same on every rank, and
        the state after the window). With ``state`` (a stateful run, this rank's rows of
        it) the rows read on from it; else the state returned is None."""
        if self.module is None:
            logits, after = self.forward(inputs, state, layout=self.layout)
            loss = nll(logits.float(), targets)  # the loss in float32 under autocast
            return loss, loss.detach(), after
        real = int((targets != IGNORE).sum())  # every rank holds the whole batch
        mine = slice(self.ctx.rank * self.rows, (self.ctx.rank + 1) * self.rows)
        logits, after = self.module(inputs[mine], state, layout=self.layout)
        local_sum, _ = nll_sum(logits.float(), targets[mine])
        loss = local_sum * (self.ctx.world_size / real)
        shown = loss.detach().clone()
        dist.all_reduce(shown)
        return loss, shown / self.ctx.world_size, after

    def agree(self, seconds: float, stop: bool) -> tuple[float, bool]:
        """The slowest rank's training time and whether any rank was asked to stop, so that
        every rank ends (time budget, Ctrl-C) at the same step."""
        if not self.enabled:
            return seconds, stop
        device = torch.device("cuda", self.ctx.local_rank) if dist.get_backend() == "nccl" else "cpu"
        values = torch.tensor([seconds, float(stop)], dtype=torch.float64, device=device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return float(values[0]), bool(values[1])
