"""The one interface every model family obeys.

The trainer, the sampler, the evaluator and the diagnostics only ever call a
``CharModel`` one way, in the convention of Hugging Face's ``forward(input_ids,
past_key_values)``:

    logits, state = model(idx, state=None, layout=Layout.SEQUENCE)

- ``idx[B, T]`` with no state: every position's logits[B, T, V] from the start of a
  sequence of any length; position t predicts token t+1 from tokens <= t. The state
  returned is None. The loss is computed outside (``models.likelihood``).
- ``idx[B, T]`` with a state (``init_state(B)`` or one a call returned): idx read on
  from it, and the state after idx: incremental generation (T = 1), or a recurrent
  model's next window of a text, its state carried across windows (truncated
  backpropagation through time; evaluation reads a whole text as if in one pass).
- ``layout=Layout.WINDOW``: idx[B, C] windows, oldest first -> logits[B, V] for the
  token after each (the MLP lectures' examples: exact for BatchNorm, no padding).
- ``layout=Layout.PACKED``: a ``Packed`` batch, several whole items a row, kept apart by
  the model (``data/packing.py``) -> logits[R, T, V].

A batch says its own layout (``Batches.layout``), so training, evaluation and DDP pass
it on and never ask which model they hold. Every state is a nest (tuple/list/dict) of
tensors whose first dimension is the batch, plus plain Python values shared by all rows,
so that ``select_state`` can keep, drop or reorder rows (finished samples, beams) for
any family without knowing which one it holds (``compact_state``: drop finished rows of
a state no longer needed, in place where the family can).

What a family writes are the cases ``forward`` dispatches to: ``forward_sequence``
(from the start), ``forward_from`` (on from a state; the base class's re-reads the
visible window, correct for any model and slow), and where its layout needs them
``forward_window`` (``WindowModel`` derives the rest from it) and ``forward_packed``.
Beside them: ``context_size`` (how many past tokens the model sees; ``None``:
unbounded), ``training_layout`` (the ``Layout`` its training batches take),
``any_length`` (``forward_sequence`` itself reads past ``context_size``),
``fitted_by_counting`` (fitted by one counting pass, ``fit``, with no optimiser: the
n-gram), ``carries_state`` (its state summarises all it has read, so training may carry
it across windows) and ``unit_groups()`` (what it offers for inspection, so the neuron
code asks the model and not its class).
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
    tensor in the state ``forward`` returns (a recurrent model's h and c)."""

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
    # forward_sequence reads a sequence longer than context_size itself (each position
    # seeing its own context: the window families); else ``forward`` reads it on from a state.
    any_length: ClassVar[bool] = False
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

    @classmethod
    def table_count(cls, config: Any, vocab_size: int) -> int:
        """Numbers a model of this config holds besides its parameters (fixed tables that
        grow with the config), for the same check; none unless a family says so."""
        return 0

    # -- the interface -------------------------------------------------------------
    @property
    def context_size(self) -> int | None:
        raise NotImplementedError

    def forward(
        self, idx: Any, state: State = None, *, layout: Layout = Layout.SEQUENCE
    ) -> tuple[torch.Tensor, State]:
        """(logits, state after idx): the one entry point (see the module's docstring)."""
        if layout is Layout.WINDOW:
            return self.forward_window(idx), None  # (B, V)
        if layout is Layout.PACKED:
            return self.forward_packed(*idx), None  # (R, T, V)
        if state is not None:
            return self.forward_from(idx, state)  # (B, T, V), the state after idx
        if self.any_length or self.context_size is None or idx.shape[1] <= self.context_size:
            return self.forward_sequence(idx), None  # (B, T, V)
        logits, _ = self.forward_from(idx, self.init_state(idx.shape[0]))  # past the context
        return logits, None

    def forward_sequence(self, idx: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """logits[B, T, V] for idx[B, T] read from the start of a sequence, T at most
        ``context_size`` unless the family reads ``any_length``: a longer sequence is read
        on from ``init_state``, each position seeing the context before it."""
        raise NotImplementedError

    def forward_window(self, windows: torch.Tensor) -> torch.Tensor:
        """windows[B, C] (oldest first) -> logits[B, V] for the token after each window."""
        raise NotImplementedError(f"{self.family} does not read fixed windows")

    def forward_packed(
        self, idx: torch.Tensor, positions: torch.Tensor, segments: torch.Tensor
    ) -> torch.Tensor:
        """Rows of several items (``data.packing``), each (R, T) -> logits[R, T, V]."""
        raise NotImplementedError(f"{self.family} does not read packed rows")

    def forward_from(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Generic: for each token, re-run ``forward_sequence`` on the visible window (the
        state holds the tokens seen so far). Correct for any model, slow for long
        contexts; every family in charloom reads on from its own state instead."""
        history, outputs = state["history"], []
        for t in range(idx.shape[1]):
            history = torch.cat([history, idx[:, t : t + 1]], dim=1)
            if self.context_size is not None:
                history = history[:, -self.context_size :]
            outputs.append(self.forward_sequence(history)[:, -1])  # (B, V)
        return along_time(outputs), {"history": history}  # (B, T, V)

    def trace_recurrence(self, idx: torch.Tensor, targets: torch.Tensor) -> dict[str, Any] | None:
        """Gate values and the gradient's reach back through time on a batch, for the
        diagnostics of a recurrent family; None for every other family."""
        return None

    def unit_groups(self) -> UnitGroups:
        """What can be read inside the model; nothing unless the family says."""
        return UnitGroups()

    def init_state(self, batch_size: int) -> State:
        """The state before the first token. Generic: the tokens seen so far, none."""
        return {"history": torch.zeros(batch_size, 0, dtype=torch.long, device=self.device)}

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
    WaveNet). Subclasses write ``forward_window``; sequences and states follow from it.

    Before the first token the window is filled with id 0 (the boundary), which is the
    makemore convention: the context of the first letter of a name is '...'.
    """

    training_layout: ClassVar[Layout] = Layout.WINDOW
    any_length: ClassVar[bool] = True

    def forward_sequence(self, idx: torch.Tensor) -> torch.Tensor:
        """Every position's window, exactly as in training, whatever the length."""
        B, T = idx.shape
        C = self.context_size
        padded = torch.nn.functional.pad(idx, (C - 1, 0), value=0)  # (B, T + C - 1)
        windows = padded.unfold(1, C, 1)  # (B, T, C)
        logits = self.forward_window(windows.reshape(B * T, C))  # (B*T, V)
        return logits.view(B, T, -1)

    def init_state(self, batch_size: int) -> State:
        return torch.zeros(batch_size, self.context_size, dtype=torch.long, device=self.device)

    def forward_from(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The state is the window itself (B, C): each token slides it by one."""
        window, outputs = state, []
        for t in range(idx.shape[1]):
            window = torch.cat([window[:, 1:], idx[:, t : t + 1]], dim=1)  # (B, C)
            outputs.append(self.forward_window(window))  # (B, V)
        return along_time(outputs), window  # (B, T, V)


def along_time(outputs: list[torch.Tensor]) -> torch.Tensor:
    """The logits of T tokens read one at a time, each (B, V), as (B, T, V); a single
    token's (the decoding step) as a view, with no copy."""
    return outputs[0].unsqueeze(1) if len(outputs) == 1 else torch.stack(outputs, dim=1)


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
