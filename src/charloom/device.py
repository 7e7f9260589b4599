"""Where a model runs and in which precision.

``--device auto`` takes the first CUDA GPU when there is one, else the CPU; Apple's MPS
only when asked (``mps``), its coverage of operations being uneven. Everything a step
touches is made on the model's device: the batches are moved there as they are drawn
(pinned first when the device is a GPU, so the copy does not block), and the decoding
buffers, masks and random draws are made there.

Precision: float32 by default, the exact path. ``bfloat16`` and ``float16`` run the
forward pass under autocast (weights stay float32; float16 needs a loss scaler, which
``GradScaler`` is); losses and evaluation NLLs are summed in float32 or wider whatever the
precision. ``auto`` takes bfloat16 where the hardware multiplies it natively and float32
elsewhere, so the same run stays exact on a machine that would only emulate the narrower
type. A CUDA GPU says whether it does; a CPU is timed, because its flags mislead: AMX
tiles and AVX512-BF16 (AMD Zen 4 and later, Intel Cooper Lake) both multiply bfloat16
natively, AVX512-BF16 only converts on some parts, and a CPU without either emulates it.
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any

import torch

from charloom.errors import CharloomError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
PRECISIONS = (*DTYPES, "auto")
# bfloat16 counts as native on a CPU whose bfloat16 products run at least this many
# times as fast as its float32 ones; emulated, they run slower than float32.
NATIVE_SPEEDUP = 1.3


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The device a spec names, checked to exist here; one line saying why not."""
    if isinstance(spec, torch.device):
        return spec
    text = (spec or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise CharloomError(
                "--device mps: this machine has no Apple GPU that PyTorch can use; use --device cpu"
            )
        return torch.device("mps")
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise CharloomError(f"--device {text}: PyTorch sees no CUDA GPU here; use --device cpu (or auto)")
        device = torch.device(text)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise CharloomError(
                f"--device {text}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
            )
        return device
    raise CharloomError(f"--device takes auto, cpu, cuda, cuda:N or mps; got {spec!r}")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 in hardware rather than emulating it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_bfloat16_speedup() >= NATIVE_SPEEDUP
    return False


@functools.cache
def cpu_bfloat16_speedup() -> float:
    """How many times as fast this CPU multiplies bfloat16 matrices as float32 ones, timed
    on the shape of a small transformer's products ((2048 x 256) @ (256 x 256), the best
    of several runs each, about 50 ms in all); measured once a process."""
    a, b = torch.randn(2048, 256), torch.randn(256, 256)
    return _best_seconds(a, b) / _best_seconds(a.bfloat16(), b.bfloat16())


def _best_seconds(a: torch.Tensor, b: torch.Tensor, repeats: int = 5) -> float:
    a @ b  # the first product pays for the kernel's set-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return best


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """The compute precision, checked against the device; ``auto`` chosen for it."""
    if name == "auto":
        return torch.bfloat16 if native_bfloat16(device) else torch.float32
    if name not in DTYPES:
        raise CharloomError(f"--dtype takes {', '.join(PRECISIONS)}; got {name!r}")
    if name == "float16" and device.type != "cuda":
        raise CharloomError(
            "--dtype float16 needs a CUDA GPU (its loss scaler is CUDA's); use bfloat16 or float32"
        )
    if name == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise CharloomError("--dtype bfloat16: this GPU does not support it; use float16 or float32")
    return DTYPES[name]


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """The forward pass at ``dtype`` (autocast); nothing at float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def to_device(batch: Any, device: torch.device) -> Any:
    """A batch (a tensor, or tuples of them such as packed rows) on ``device``; on the CPU
    the very same tensors (``.to`` copies nothing)."""
    if isinstance(batch, torch.Tensor):
        if batch.device == device:
            return batch
        if device.type == "cuda" and batch.device.type == "cpu":
            return batch.pin_memory().to(device, non_blocking=True)
        return batch.to(device)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a NamedTuple
        return type(batch)(*(to_device(part, device) for part in batch))
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(part, device) for part in batch)
    return batch
