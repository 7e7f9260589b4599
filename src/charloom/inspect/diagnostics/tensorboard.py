"""TensorBoard, when it is installed (the ``tensorboard`` extra); silently nothing when not.

Never a hard import: ``torch.utils.tensorboard`` itself needs the ``tensorboard``
package, so the import is tried here, once, when a writer is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Scalars:
    """A thin writer of named scalars; every method is a no-op without TensorBoard."""

    def __init__(self, folder: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer: Any = None
        else:
            self.writer = SummaryWriter(log_dir=str(folder))

    @property
    def active(self) -> bool:
        return self.writer is not None

    def add(self, values: dict[str, float | None], step: int) -> None:
        if self.writer is None:
            return
        for tag, value in values.items():
            if value is not None:
                self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
