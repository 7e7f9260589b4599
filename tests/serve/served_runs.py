"""The two small runs the server tests serve: names (an MLP) and running text (a GRU)."""

from __future__ import annotations

from pathlib import Path

from charloom.api import train
from tiny_data import make_names

QUIET = {"num_samples": 0, "log": lambda m: None, "callbacks": []}


def train_served_runs(root: Path, name_steps: int = 30) -> tuple[Path, Path]:
    (root / "names.txt").write_text("\n".join(make_names()) + "\n")
    (root / "text.txt").write_text("the cat sat on the mat. the dog ran far away.\n" * 60)
    names = train(root / "names.txt", "mlp", out=root / "names", max_steps=name_steps, **QUIET)
    options = {"format": "text", "max_steps": 10, "model_options": {"hidden": 16}, **QUIET}
    text = train(root / "text.txt", "gru", out=root / "text", **options)
    return names.path, text.path
