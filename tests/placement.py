"""A check that nothing charloom does inside a training or decoding step leaves the model's
device: no tensor made without saying where (it would land on the CPU beside a GPU model),
no ``.cpu()`` or ``.numpy()`` (a copy to the host and a wait), no tensor on another device.

It runs the same on a CPU-only machine, which is the point: the code that will meet a GPU
is held to the rule here, where every test runs. Only calls made from charloom's own files
count; PyTorch's internals place their tensors themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

PACKAGE = str(Path(__file__).resolve().parents[1] / "src" / "charloom")
FACTORIES = {
    torch.zeros,
    torch.ones,
    torch.full,
    torch.empty,
    torch.arange,
    torch.rand,
    torch.randn,
    torch.randint,
    torch.tensor,
    torch.eye,
    torch.linspace,
}
TO_HOST = {torch.Tensor.cpu, torch.Tensor.numpy}


class Placement(TorchFunctionMode):
    """``with Placement(device) as seen: ...``; afterwards ``seen.errors`` lists what broke the
    rule, each with the charloom file and line that did it."""

    def __init__(self, device: torch.device | str):
        super().__init__()
        self.device = torch.device(device)
        self.errors: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        where = self._caller()
        if where is not None:
            name = getattr(func, "__name__", str(func))
            if func in FACTORIES and "device" not in kwargs:
                self.errors.append(f"{where}: torch.{name} without device=")
            if func in TO_HOST:
                self.errors.append(f"{where}: .{name}() inside the step")
        out = func(*args, **kwargs)
        if where is not None:
            for tensor in _tensors(out):
                if tensor.device != self.device and tensor.device.type != "meta":
                    self.errors.append(f"{where}: a tensor on {tensor.device}, not {self.device}")
        return out

    @staticmethod
    def _caller() -> str | None:
        """The innermost charloom frame that made the call, or None if none did directly."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith(str(Path(torch.__file__).parent)):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
            return f"{Path(frame.f_code.co_filename).relative_to(PACKAGE)}:{frame.f_lineno}"
        return None


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, tuple | list):
        for part in value:
            yield from _tensors(part)
