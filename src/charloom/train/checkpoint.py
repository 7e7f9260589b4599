"""What a checkpoint holds: one ``TrainState``, enough to resume bit-for-bit on the CPU.

``state.safetensors`` stores, as tensors, the model's weights (``model.*``), the
optimiser's moments (``optim.*``), the weight average (``average.*``) and the two random
states (``rng.torch``: torch's global generator, which dropout draws from;
``rng.batches``: the batch generator); as JSON metadata, the counters, the optimiser's
param groups and scalars, and the sizes of the run's logs at that moment (resuming cuts
them back to those sizes). No pickle anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from charloom.errors import CharloomError
from charloom.io import load_tensors, save_tensors
from charloom.models.base import CharModel
from charloom.train.averaging import WeightAverage


@dataclass
class Counters:
    """Where a run stands, and the best it has done."""

    step: int = 0
    train_seconds: float = 0.0
    best_val: float = math.inf
    best_step: int = -1
    initial_loss: float | None = None  # the first step's, which the loss guard measures from


class TrainState:
    """The model, its optimiser and weight average, the batch generator and the counters
    of one run, saved and loaded as one."""

    def __init__(
        self,
        model: CharModel,
        optimizer: torch.optim.Optimizer | None,
        average: WeightAverage | None,
        batch_generator: torch.Generator,
    ):
        self.model, self.optimizer, self.average = model, optimizer, average
        self.batch_generator = batch_generator
        self.counters = Counters()
        # a stateful run's hidden state at the end of the last window ({name: (B, L, H)}),
        # where the next window starts: saved, so that a resumed run reads on exactly
        self.carried: dict[str, torch.Tensor] | None = None

    def save(self, path: Path, log_sizes: dict[str, int], callbacks: dict[str, dict] | None = None) -> None:
        """Everything, with the logs' sizes and the callbacks' states (JSON)."""
        c = self.counters
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        meta: dict[str, Any] = {
            "step": c.step,
            "train_seconds": c.train_seconds,
            "best_val": None if math.isinf(c.best_val) else c.best_val,
            "best_step": c.best_step,
            "initial_loss": c.initial_loss,
            "callbacks": callbacks or {},
        }
        if self.optimizer is not None:
            opt_tensors, opt_meta = flatten_optimizer(self.optimizer.state_dict())
            tensors.update({f"optim.{k}": v for k, v in opt_tensors.items()})
            meta["optimizer"] = opt_meta
        if self.average is not None:
            tensors.update({f"average.{k}": v for k, v in self.average.state_dict().items()})
            meta["average_updates"] = self.average.updates
        if self.carried is not None:
            tensors.update({f"carried.{k}": v.detach().contiguous() for k, v in self.carried.items()})
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.batches"] = self.batch_generator.get_state()
        device = self.model.device
        if device.type == "cuda":  # dropout on a GPU draws from that GPU's generator
            tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
        meta["file_sizes"] = log_sizes
        save_tensors(path, tensors, meta)

    def load(self, path: Path) -> tuple[dict[str, int], dict[str, dict]]:
        """Restore everything saved at ``path``; returns the logs' sizes at that moment and
        the callbacks' states."""
        tensors, meta = load_tensors(path)
        self.model.load_tensors(_section(tensors, "model."))
        if self.optimizer is not None and "optimizer" in meta:
            opt = _section(tensors, "optim.")
            self.optimizer.load_state_dict(unflatten_optimizer(opt, meta["optimizer"]))
        if self.average is not None:
            self.average.load(_section(tensors, "average."), int(meta["average_updates"]))
        device = self.model.device
        self.carried = {k: v.to(device) for k, v in _section(tensors, "carried.").items()} or None
        torch.set_rng_state(tensors["rng.torch"])
        self.batch_generator.set_state(tensors["rng.batches"])
        if device.type == "cuda" and "rng.cuda" in tensors:  # resumed on another device: its own draws
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
        best = meta["best_val"]
        self.counters = Counters(
            step=int(meta["step"]),
            train_seconds=float(meta["train_seconds"]),
            best_val=math.inf if best is None else float(best),
            best_step=int(meta["best_step"]),
            initial_loss=meta.get("initial_loss"),
        )
        return dict(meta.get("file_sizes", {})), dict(meta.get("callbacks", {}))


def saved_step(path: Path) -> int:
    """The step of the checkpoint at ``path``."""
    return int(load_tensors(path)[1]["step"])


def kept_checkpoint(path: Path) -> str:
    """The checkpoint a diverged run keeps, named for its message."""
    try:
        step = saved_step(path)
    except CharloomError:
        step = 0
    return f"the last checkpoint (step {step}, in {path.parent})"


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's state_dict as tensors plus JSON (param groups, scalar entries)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            name = f"{index}.{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value
            elif value is not None:
                scalars[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(meta.get("scalars", {}).items()):
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}
