"""Fine-tuning: a new run that starts from another run's best weights instead of random ones.

The parent's model config is kept; an option given for the new run may change only what
leaves every weight's shape alone (dropout, say), and one that would reshape a weight is
refused. The vocabulary is the parent's with the new data's unseen characters added: each
parent character keeps its trained embedding and output rows, moved to its place in the
grown (still sorted) alphabet, and each new character keeps the rows the family's own
initialisation gave it. Only the embedding and output dimensions grow, so a dimension is
remapped exactly when it is the parent's vocabulary size there and the new one here.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import torch

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.io import load_tensors
from charloom.models.base import CharModel
from charloom.models.registry import model_class, saved_config
from charloom.rundir import RunDir


@dataclass(frozen=True)
class Parent:
    """The run a fine-tuning starts from."""

    run_dir: RunDir
    info: dict

    @property
    def family(self) -> str:
        return self.info["model"]["family"]

    @property
    def format(self) -> str:
        return self.info["data"]["format"]

    @property
    def vocab(self) -> Vocab:
        return Vocab.from_json(self.info["vocab"])

    def record(self) -> dict[str, str]:
        """What run.json keeps of its parent: where it was, and which run.json it had."""
        digest = hashlib.sha256(self.run_dir.run_json.read_bytes()).hexdigest()
        return {"path": str(self.run_dir.path.resolve()), "run_json_sha256": digest}


def read_parent(path: str | Path, family: str | None, fmt: str) -> Parent:
    """The run at ``path``, checked to be one a ``family`` run on ``fmt`` data can start from."""
    run_dir = RunDir(path)
    if not run_dir.run_json.exists():
        raise CharloomError(f"--init-from {path}: no run there (no run.json)")
    parent = Parent(run_dir, run_dir.read_info())
    if not run_dir.weights_path("model").exists():
        raise CharloomError(f"--init-from {path}: the run has no best weights yet (model.safetensors)")
    if family is not None and family != parent.family:
        raise CharloomError(
            f"--init-from {path} is a {parent.family} run; a {family} model cannot start from it "
            f"(leave --model out, or give --model {parent.family})"
        )
    if model_class(parent.family).fitted_by_counting:
        raise CharloomError(
            f"--init-from {path}: a {parent.family} model is counted, not trained; "
            "count it again on the new data together with the old instead"
        )
    if fmt != parent.format:
        raise CharloomError(f"--init-from {path} was trained on {parent.format} data; this data is {fmt}")
    return parent


def inherited_options(parent: Parent, given: dict[str, Any] | Any | None) -> dict[str, Any]:
    """The parent's model options with the ones given for the new run laid over them."""
    if given is None:
        given = {}
    elif is_dataclass(given):
        given = asdict(given)
    return {**saved_config(parent.family, parent.info["model"]["config"]), **dict(given)}


def start_from_parent(model: CharModel, vocab: Vocab, parent: Parent, options: dict[str, Any]) -> list[str]:
    """Copy the parent's best weights into ``model`` (built for ``vocab``, freshly
    initialised); returns the characters that are new to it."""
    saved, _ = load_tensors(parent.run_dir.weights_path("model"))
    old_vocab = parent.vocab
    ids = torch.tensor([vocab.encode(c)[0] for c in old_vocab.chars])
    if old_vocab.boundary:
        ids = torch.cat([torch.zeros(1, dtype=torch.long), ids])
    fresh = model.state_dict()
    reshaped = sorted(set(fresh) ^ set(saved))
    merged = {}
    for name, start in fresh.items():
        old = saved.get(name)
        if old is None:
            continue
        if old.shape == start.shape:
            merged[name] = old
            continue
        if old.dim() != start.dim() or not all(
            a == b or (a, b) == (old_vocab.size, vocab.size)
            for a, b in zip(old.shape, start.shape, strict=True)
        ):
            reshaped.append(name)
            continue
        merged[name] = _moved_rows(start.clone(), old.to(start.dtype), ids, old_vocab.size, vocab.size)
    if reshaped:
        raise CharloomError(_reshape_message(parent, options, reshaped))
    model.load_tensors(merged)
    return [c for c in vocab.chars if c not in old_vocab]


def _moved_rows(target: torch.Tensor, old: torch.Tensor, ids: torch.Tensor, old_size: int, size: int):
    """``target`` with ``old``'s entries written at the grown vocabulary's ids, along each
    dimension that the vocabulary spans (the embedding's rows, the output's columns)."""
    index = []
    for dim, (a, b) in enumerate(zip(old.shape, target.shape, strict=True)):
        along = ids if (a, b) == (old_size, size) else torch.arange(a)
        shape = [1] * old.dim()
        shape[dim] = a
        index.append(along.view(shape))
    target[tuple(index)] = old
    return target


def _reshape_message(parent: Parent, options: dict[str, Any], names: list[str]) -> str:
    saved = parent.info["model"]["config"]
    changed = [name for name in sorted(options) if name in saved and options[name] != saved[name]]
    flags = ", ".join(f"--{n.replace('_', '-')} ({saved[n]} there, {options[n]} given)" for n in changed)
    what = flags or f"the weights {', '.join(names[:3])}"
    return (
        f"--init-from {parent.run_dir.path} keeps its model's weight shapes; {what} would change them: "
        "leave those options out"
    )
