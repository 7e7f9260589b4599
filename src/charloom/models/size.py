"""How big a model may be, decided before a single tensor is made.

A config typed by hand, or a run.json mistyped or tampered with, can ask for sizes that
no machine holds (an embedding 1,048,576 wide, 4,096 layers); building it would try to
allocate terabytes and die with a traceback. So the parameters are counted from the
config first (``CharModel.parameter_count``, each family's formula; ``table_count`` for
fixed tables such as rotary positions' rotations) and the memory that using the model
needs is compared with the memory this machine has free:

    training    4 bytes x parameters x 4     weights, gradients, AdamW's two moments
    using       4 bytes x parameters         weights (sampling, scoring, evaluating)

A model over that bound is refused in one sentence, and so is any other request whose
buffers would not fit (``check_memory``: decoding's token buffers, beam search's scores).
``CHARLOOM_MEMORY_LIMIT`` sets the bound in GB instead, or lifts it (``off``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from charloom.errors import CharloomError

BYTES_PER_PARAMETER = 4  # float32
COPIES = {"train": 4, "use": 1}
ENV = "CHARLOOM_MEMORY_LIMIT"
GB = 1e9


def memory_limit() -> float | None:
    """Bytes a model may take: ``CHARLOOM_MEMORY_LIMIT`` (GB, or ``off``: no limit), else
    the memory free now; None when neither is known."""
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in ("off", "none", "unlimited"):
        return None
    if setting:
        try:
            return float(setting) * GB
        except ValueError:
            raise CharloomError(f"{ENV} must be a number of GB or 'off', got {setting!r}") from None
    return free_memory()


def free_memory() -> float | None:
    """Bytes of memory available to a new allocation: MemAvailable on Linux, else the
    physical memory the OS reports; None if neither can be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def check_size(model_class: Any, config: Any, vocab_size: int, purpose: str = "use") -> int:
    """Refuse a model whose ``purpose`` ("train" or "use") needs more memory than the limit
    allows; returns its parameter count."""
    parameters = model_class.parameter_count(config, vocab_size)
    tables = model_class.table_count(config, vocab_size)
    limit = memory_limit()
    needed = (parameters * COPIES[purpose] + tables) * BYTES_PER_PARAMETER
    if limit is not None and needed > limit:
        sizes = ", ".join(
            f"{f.name} {getattr(config, f.name):,}"
            for f in dataclasses.fields(config)
            if type(getattr(config, f.name)) is int and getattr(config, f.name) > 1
        )
        verb = "to train" if purpose == "train" else "to hold"
        raise CharloomError(
            f"this {model_class.family} would have {parameters:,} parameters"
            + (f" and {tables:,} numbers of fixed tables" if tables else "")
            + f" ({sizes}): "
            f"{needed / GB:,.1f} GB {verb}, more than the {limit / GB:,.1f} GB of memory free; "
            f"make it smaller, or set {ENV}=off to try anyway"
        )
    return parameters


def check_memory(needed: float, what: str, advice: str) -> None:
    """Refuse ``what`` when its ``needed`` bytes are more than the limit allows."""
    limit = memory_limit()
    if limit is not None and needed > limit:
        raise CharloomError(
            f"{what} would take {needed / GB:,.1f} GB, more than the {limit / GB:,.1f} GB of memory "
            f"free; {advice}, or set {ENV}=off to try anyway"
        )
