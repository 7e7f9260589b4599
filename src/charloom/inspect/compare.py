"""Runs side by side: one row of figures per run, read from what each run folder holds.

A row: the family, the parameters, the steps and training seconds, the real tokens per
second (the median of the evaluations' figures), the best val NLL and the test NLL of that
checkpoint, and the shares of the last samples logged in training that are new, held out
(in val or test) or in train. A run group (``charloom train-categories``) stands for its
runs: every category's and the pooled one.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from charloom.errors import RunError
from charloom.inspect.diagnostics.checks import per_step_losses
from charloom.rundir import RunDir

MARKS = ("new", "held-out", "train")


def expand(paths: list[str | Path]) -> list[Path]:
    """Run folders, a group standing for its runs (in its order, the pooled one last)."""
    runs: list[Path] = []
    for given in paths:
        path = Path(given)
        group = path / "group.json"
        if group.exists():
            try:
                info = json.loads(group.read_text(encoding="utf-8"))
                folders = list(dict.fromkeys(info["categories"].values()))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise RunError(f"{group} is damaged; train the group again") from None
            runs += [path / folder for folder in folders]
            runs += [path / info["pooled"]] if info.get("pooled") else []
        elif (path / RunDir.RUN_JSON).exists():
            runs.append(path)
        else:
            raise RunError(f"{path} is neither a run nor a run group (no run.json, no group.json)")
    if not runs:
        raise RunError("give at least one run or run group to compare")
    return list(dict.fromkeys(runs))


def step_curve(metrics: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    """The training loss of every step, from the ``step_losses`` of each metrics line."""
    return per_step_losses(metrics, "step_losses")


def run_row(path: Path, names: dict[Path, str]) -> dict[str, Any]:
    """The figures of one run (see the module)."""
    folder = RunDir(path)
    info = folder.read_info()
    status = info.get("status", {})
    speeds = [m["tokens_per_s"] for m in folder.read_metrics() if m.get("tokens_per_s")]
    samples = folder.read_samples()
    last = [s for s in samples if s.step == samples[-1].step] if samples else []
    marked = [s for s in last if s.seen in MARKS]
    shares = {mark: sum(s.seen == mark for s in marked) / len(marked) if marked else None for mark in MARKS}
    return {
        "run": str(path),
        "name": names[path],
        "family": info["model"]["family"],
        "parameters": info["model"].get("parameters"),
        "steps": status.get("step"),
        "train_seconds": status.get("train_seconds"),
        "tokens_per_s": statistics.median(speeds) if speeds else None,
        "val_nll": status.get("val_nll"),
        "test_nll": status.get("test_nll"),
        "best_step": status.get("best_step"),
        "new": shares["new"],
        "held_out": shares["held-out"],
        "in_train": shares["train"],
    }


def short_names(paths: list[Path]) -> dict[Path, str]:
    """The shortest tail of each path that tells the runs apart (their folder name, or
    more of the path where two folders share a name)."""
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        names = {p: "/".join(p.parts[-depth:]) for p in paths}
        if len(set(names.values())) == len(paths):
            return names
    return {p: str(p) for p in paths}


def compare_rows(paths: list[str | Path]) -> list[dict[str, Any]]:
    """One row per run (groups expanded), in the order given."""
    runs = expand(paths)
    names = short_names(runs)
    return [run_row(path, names) for path in runs]


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    columns = [
        ("run", "name", "{}"),
        ("family", "family", "{}"),
        ("params", "parameters", "{:,}"),
        ("steps", "steps", "{:,}"),
        ("seconds", "train_seconds", "{:.1f}"),
        ("tok/s", "tokens_per_s", "{:,.0f}"),
        ("val", "val_nll", "{:.4f}"),
        ("test", "test_nll", "{:.4f}"),
        ("new", "new", "{:.0%}"),
        ("held-out", "held_out", "{:.0%}"),
        ("train", "in_train", "{:.0%}"),
    ]
    return aligned(rows, columns)


def aligned(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]], left: int = 2) -> str:
    """Rows as a text table: ``columns`` are (title, key, format); the first ``left``
    columns flush left, the figures flush right, '-' where a row has no value."""
    table = [[title for title, _, _ in columns]]
    for row in rows:
        table.append(["-" if row.get(key) is None else form.format(row[key]) for _, key, form in columns])
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    )
