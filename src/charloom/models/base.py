"""The one interface every model family obeys.

The trainer, the sampler, the evaluator and the diagnostics only ever talk to a
``CharModel``:

- ``forward(idx[B, T]) -> logits[B, T, V]``: position t predicts token t+1 from
  tokens <= t. The loss is computed outside (``models.likelihood``).
- ``context_size``: how many past tokens the model can see (``None``: unbounded).
- ``init_state(B)`` and ``step(tokens[B], state) -> (logits[B, V], state)``:
  incremental generation. Every state is a nest (tuple/list/dict) of tensors whose
  first dimension is the batch, plus plain Python values shared by all rows, so that
  ``select_state`` can keep, drop or reorder rows (finished samples, beams) for any
  family without knowing which one it holds (``compact_state``: drop finished rows
  of a state no longer needed, in place where the family can).
- ``training_layout`` (a ``data.batches.Layout``): how training batches are laid out
  for this family: ``SEQUENCE`` (padded items or text windows, all positions predicted
  at once), ``WINDOW`` (one example per target, the fixed context before it, as in the
  MLP lectures: exact for BatchNorm, no padding in its statistics) or ``PACKED``
  (several whole items per row, no padding between them, see ``data/packing.py``).
  ``training_logits(inputs)`` reads a batch of that layout, so the loss, evaluation and
  DDP never ask which model they hold.
- ``fitted_by_counting``: the model is fitted by one counting pass (``fit``), with no
  optimiser (the n-gram).
- ``sequence_logits(idx)``: logits for sequences of any length, for teacher-forced
  scoring (``forward`` where the model can see them whole, else ``step`` by step).
- ``unit_groups()``: what the model offers for inspection (``UnitGroups``), so the
  neuron code asks the model and not its class.
- ``carries_state`` and ``forward_from(idx, state) -> (logits, state)``: a model whose
  state summarises all it has read (the recurrent families) reads a window on from the
  state the previous window left, so training can carry it across consecutive windows
  of a text (truncated backpropagation through time) and evaluation can read a whole
  text in windows as if in one pass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from charloom.data.batches import Layout
from charloom.options import check_types

State = Any


@dataclass
class UnitGroups:
    """The units a model offers to be read as it steps through a text, by quantity name.

    ``hooked``: quantity -> one module per layer whose output (..., T, U) is read by a
    forward hook at the last position; ``from_state``: quantity -> the key of a (B, L, U)
    tensor in the state ``step`` returns (a recurrent model's h and c)."""

    hooked: dict[str, list[nn.Module]] = field(default_factory=dict)
    from_state: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.hooked or self.from_state)


class CharModel(nn.Module):
    """Base class: a character model built from a config dataclass and a vocabulary size."""

    family: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    training_layout: ClassVar[Layout] = Layout.SEQUENCE
    fitted_by_counting: ClassVar[bool] = False
    # Training options that suit the family (batch_size, lr, max_steps); the user's win.
    train_defaults: ClassVar[dict] = {}
    # For running text (--format text): {"model": config fields, "train": training options}
    # that replace the defaults above; what the user gives still wins.
    text_defaults: ClassVar[dict] = {}
    carries_state: ClassVar[bool] = False
    # The attributes holding what is not a map from one hidden space to another (the
    # embeddings and output layer, read or written once per character; a learned initial
    # state): under --optimizer muon these train with AdamW, and every other matrix with
    # Muon, whose orthogonalised step suits such maps.
    adamw_only: ClassVar[tuple[str, ...]] = ()
    # Options added to the config after run.json's first format: for each, the value
    # that builds the model an older run.json (which lacks it) describes.
    config_before: ClassVar[dict] = {}

    def __init__(self, config: Any, vocab_size: int):
        super().__init__()
        self.config = config
        self.vocab_size = int(vocab_size)

    @classmethod
    def parameter_count(cls, config: Any, vocab_size: int) -> int:
        """The trainable parameters a model of this config would have, found before any
        tensor is made (so an absurd config can be refused, see ``models/size.py``).
        Families give the formula; this fallback builds the model on the ``meta``
        device, where tensors have shapes but no storage."""
        with torch.device("meta"):
            return sum(p.numel() for p in cls(config, vocab_size).parameters())

    # -- the interface -------------------------------------------------------------
    @property
    def context_size(self) -> int | None:
        raise NotImplementedError

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def training_logits(self, inputs: Any) -> torch.Tensor:
        """Logits shaped like the targets of a training batch in this family's layout."""
        return self(inputs)  # (B, T, V)

    def sequence_logits(self, idx: torch.Tensor) -> torch.Tensor:
        """logits[B, T, V] for idx[B, T] of any length: ``forward`` when the whole sequence
        fits the context, else one ``step`` at a time (the transformer past its block)."""
        T = idx.shape[1]
        if self.context_size is None or T <= self.context_size:
            return self(idx)
        state = self.init_state(idx.shape[0])
        outputs = []
        for t in range(T):
            logits, state = self.step(idx[:, t], state)
            outputs.append(logits)
        return torch.stack(outputs, dim=1)

    def forward_from(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """logits[B, T, V] for idx[B, T] read on from ``state``, and the state after idx.
        Only for families that ``carries_state``."""
        raise NotImplementedError(f"{self.family} cannot carry its state across windows")

    def trace_recurrence(self, idx: torch.Tensor, targets: torch.Tensor) -> dict[str, Any] | None:
        """Gate values and the gradient's reach back through time on a batch, for the
        diagnostics of a recurrent family; None for every other family."""
        return None

    def unit_groups(self) -> UnitGroups:
        """What can be read inside the model; nothing unless the family says."""
        return UnitGroups()

    def init_state(self, batch_size: int) -> State:
        """Generic state: the tokens seen so far. Families override with a fast path."""
        return {"history": torch.zeros(batch_size, 0, dtype=torch.long, device=self.device)}

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Generic step: re-run ``forward`` on the visible window. Correct for any model,
        slow for long contexts; every family in charloom has its own fast ``step``."""
        history = torch.cat([state["history"], tokens[:, None]], dim=1)
        if self.context_size is not None:
            history = history[:, -self.context_size :]
        logits = self.forward(history)[:, -1, :]
        return logits, {"history": history}

    def select_state(self, state: State, index: torch.Tensor) -> State:
        """Keep the rows of ``state`` named by ``index`` (a LongTensor of row numbers)."""
        return select_rows(state, index)

    def compact_state(self, state: State, keep: torch.Tensor) -> State:
        """Drop finished rows: keep the rows named by ``keep`` (ascending row numbers) of a
        state that is not used again. Same result as ``select_state``, but a family may
        move the rows within the state's own memory instead of copying them out."""
        return self.select_state(state, keep)

    # -- helpers shared by all families ---------------------------------------------
    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def num_parameters(self) -> int:
        """Trainable parameters, or for count models the number of stored counts."""
        params = sum(p.numel() for p in self.parameters())
        if params:
            return params
        return sum(b.numel() for b in self.buffers())

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load weights saved by ``state_dict``. Buffers whose size is learned (count
        tables) take the saved shape; parameters must match the config exactly."""
        own = dict(self.named_buffers())
        for name, value in tensors.items():
            if name in own and own[name].shape != value.shape:
                module_name, _, attr = name.rpartition(".")
                module = self.get_submodule(module_name) if module_name else self
                setattr(module, attr, torch.empty_like(value))
        missing, unexpected = self.load_state_dict(tensors, strict=False)
        if missing or unexpected:
            raise KeyError(f"weights do not match the model: missing {missing}, unexpected {unexpected}")

    def extra_repr(self) -> str:
        return f"family={self.family!r}, vocab_size={self.vocab_size}"


class WindowModel(CharModel):
    """A model that sees a fixed window of the last ``context_size`` tokens (n-gram, MLP,
    WaveNet). Subclasses implement ``forward_window``; ``forward`` and ``step`` follow.

    Before the first token the window is filled with id 0 (the boundary), which is the
    makemore convention: the context of the first letter of a name is '...'.
    """

    training_layout: ClassVar[Layout] = Layout.WINDOW

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """windows[B, C] (oldest first) -> logits[B, V] for the token after each window."""
        raise NotImplementedError

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        C = self.context_size
        padded = torch.nn.functional.pad(idx, (C - 1, 0), value=0)  # (B, T + C - 1)
        windows = padded.unfold(1, C, 1)  # (B, T, C)
        logits = self.forward_window(windows.reshape(B * T, C))  # (B*T, V)
        return logits.view(B, T, -1)

    def training_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.forward_window(inputs)  # (B, C) windows -> (B, V)

    def sequence_logits(self, idx: torch.Tensor) -> torch.Tensor:
        return self(idx)  # windowed, exactly as in training, whatever the length

    def init_state(self, batch_size: int) -> State:
        return torch.zeros(batch_size, self.context_size, dtype=torch.long, device=self.device)

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        window = torch.cat([state[:, 1:], tokens[:, None]], dim=1)  # (B, C)
        return self.forward_window(window), window


def map_tensors(state: State, fn) -> State:
    """``fn`` applied to every tensor of a nested state, the nest and plain values kept."""
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, dict):
        return {key: map_tensors(value, fn) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        parts = [map_tensors(value, fn) for value in state]
        return parts if isinstance(state, list) else tuple(parts)
    return state


def select_rows(state: State, index: torch.Tensor) -> State:
    """Index the batch dimension (dim 0) of every tensor in a nested state."""
    return map_tensors(state, lambda t: t.index_select(0, index.to(t.device)) if t.dim() > 0 else t)


def detach_state(state: State) -> State:
    """The same state cut from the graph that made it: the next window's gradient stops
    here (the truncation of truncated backpropagation through time)."""
    return map_tensors(state, torch.Tensor.detach)


def config_to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(config_class: type, data: dict) -> Any:
    """Build a config dataclass from plain data, naming any key it does not know."""
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{config_class.__name__} has no option(s) {', '.join(unknown)}")
    check_types(config_class, data, config_class.__name__)
    return config_class(**data)


def require(condition: bool, message: str) -> None:
    """Config validation: a bad option value is the user's error, named in one sentence."""
    if not condition:
        from charloom.errors import CharloomError

        raise CharloomError(message)
