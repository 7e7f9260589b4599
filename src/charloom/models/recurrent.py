"""Recurrent networks: the vanilla RNN, the GRU and the LSTM.

    x_t = C[w_t]                                   embedding of the current character
    h_t^1 = cell_1(x_t, h_{t-1}^1)                 a stack of recurrent layers, each one
    h_t^k = cell_k(dropout(h_t^{k-1}), h_{t-1}^k)  reading the layer below
    logits_t = W_out dropout(h_t^L) + b_out

Unlike the window models the state h carries everything seen so far, so the context is
unbounded (``context_size`` is None) and generating a character costs one cell step.

Each cell exists twice, chosen by ``cell_impl``:

- ``"fused"`` (default): PyTorch's ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``, fast.
- ``"equations"``: the cells written out as equations (``recurrent_cells.py``), one time
  step at a time, so they can be read next to the papers and hooked by type: the RNN and
  the LSTM as the slides write them, the GRU in PyTorch's variant (see ``GRUCell``).

Both use PyTorch's parameter names, shapes and gate order (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``), so the weights of one load into
the other and the tests check that they compute the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from charloom.models.base import CharModel, State, UnitGroups
from charloom.models.layers import Dropout, scaled_output
from charloom.models.recurrent_cells import CellWeights, GRUCell, LSTMCell, RNNCell
from charloom.models.recurrent_trace import trace_recurrence
from charloom.options import check_options, option

CELL_IMPLS = ("fused", "equations")


@dataclass
class RecurrentConfig:
    n_layer: int = option(2, help="number of stacked recurrent layers", minimum=1)
    hidden: int = option(256, help="size of the hidden state per layer", minimum=1)
    embedding: int = option(64, help="embedding size per character", minimum=1)
    dropout: float = option(
        0.3, help="dropout between layers and before the output (0: none)", minimum=0, below=1
    )  # 2 x 256 overfits names within minutes without it (docs/tuning.md)
    learned_init: bool = option(False, help="learn the initial hidden state (else zeros)")
    cell_impl: str = option(
        "fused", help="'fused' (PyTorch's fast kernels) or 'equations' (readable cells)", choices=CELL_IMPLS
    )

    def __post_init__(self):
        check_options(self)


class EquationStack(nn.Module):
    """A stack of equation cells that is a drop-in for ``nn.RNN`` / ``nn.GRU`` /
    ``nn.LSTM`` with ``batch_first=True``: same parameter names, shapes and init, same
    call ``(x (B, T, I), h0 (L, B, H)) -> (out (B, T, H), h_n (L, B, H))``, same dropout
    between layers. It loops over time in Python: slow, but every step is visible.
    """

    cell_class: ClassVar[type[nn.Module]] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float = 0.0):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        gates = self.cell_class.gates
        # One cell module per layer (they hold no weights) so hooks can tell layers apart.
        self.cells = nn.ModuleList(self.cell_class() for _ in range(num_layers))
        for k in range(num_layers):
            fan_in = input_size if k == 0 else hidden_size
            shapes = {
                "weight_ih": (gates * hidden_size, fan_in),
                "weight_hh": (gates * hidden_size, hidden_size),
                "bias_ih": (gates * hidden_size,),
                "bias_hh": (gates * hidden_size,),
            }
            for name, shape in shapes.items():
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init for recurrent layers: every weight ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def layer_weights(self, k: int) -> CellWeights:
        return CellWeights(*(getattr(self, f"{name}_l{k}") for name in CellWeights._fields))

    def forward(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        per_layer = self.split_layers(state)  # one cell state per layer
        T = x.shape[1]
        finals = []
        for k, cell in enumerate(self.cells):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            weights = self.layer_weights(k)
            s = per_layer[k]
            outputs = []
            for t in range(T):
                s = cell(x[:, t], s, weights)
                outputs.append(self.output_of(s))  # (B, H)
            x = torch.stack(outputs, dim=1)  # (B, T, H)
            finals.append(s)
        return x, self.join_layers(finals)

    # How the cell state is packed: h for the RNN and GRU, (h, c) for the LSTM.
    def split_layers(self, state: torch.Tensor) -> list:
        return list(state.unbind(0))  # (L, B, H) -> L x (B, H)

    def join_layers(self, states: list) -> torch.Tensor:
        return torch.stack(states, dim=0)  # (L, B, H)

    @staticmethod
    def output_of(s: torch.Tensor) -> torch.Tensor:
        return s


class EquationRNN(EquationStack):
    cell_class = RNNCell


class EquationGRU(EquationStack):
    cell_class = GRUCell


class EquationLSTM(EquationStack):
    cell_class = LSTMCell

    def split_layers(self, state: tuple[torch.Tensor, torch.Tensor]) -> list:
        h, c = state  # (L, B, H) each
        return list(zip(h.unbind(0), c.unbind(0), strict=True))

    def join_layers(self, states: list) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = zip(*states, strict=True)
        return torch.stack(h, dim=0), torch.stack(c, dim=0)  # (L, B, H) each

    @staticmethod
    def output_of(s: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return s[0]


# -- the models ---------------------------------------------------------------------


class Recurrent(CharModel):
    """Embedding -> stacked recurrent layers -> Linear. Subclasses name the cell.

    The generation state is a dict of (B, L, H) tensors, batch first like every state in
    charloom (``select_rows`` indexes dim 0); PyTorch's modules want (L, B, H), so the
    state is transposed on the way in and out.
    """

    config_class = RecurrentConfig
    adamw_only = ("embedding", "head", "initial")
    train_defaults = {"batch_size": 64, "lr": 2e-3, "weight_decay": 0.1}  # see dropout above
    fused_class: ClassVar[type[nn.Module]] = nn.RNN
    equations_class: ClassVar[type[EquationStack]] = EquationRNN
    carries_state = True
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    gates: ClassVar[int] = 1  # weight blocks per layer: the cell's gates and candidate

    def __init__(self, config: RecurrentConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        E, H, L = config.embedding, config.hidden, config.n_layer
        between = config.dropout if L > 1 else 0.0  # PyTorch warns about dropout with L = 1
        self.embedding = nn.Embedding(vocab_size, E)
        if config.cell_impl == "fused":
            self.rnn = self.fused_class(E, H, num_layers=L, dropout=between, batch_first=True)
        else:
            self.rnn = self.equations_class(E, H, num_layers=L, dropout=between)
        # The state before the first character: learned (L, H) tensors, or zeros.
        learned = self.state_names if config.learned_init else ()
        self.initial = nn.ParameterDict({n: nn.Parameter(torch.zeros(L, H)) for n in learned})
        self.drop = Dropout(config.dropout)
        # Small output weights: near-uniform softmax, loss at step 0 about ln(V).
        self.head = scaled_output(H, vocab_size, 0.1)

    @classmethod
    def parameter_count(cls, config: RecurrentConfig, vocab_size: int) -> int:
        """V E + per layer G H (input + H) + 2 G H (two biases), G gates (RNN 1, GRU 3, LSTM
        4), the input E for the first layer and H above + L H per learned initial state + H V
        + V."""
        E, H, L, V, G = config.embedding, config.hidden, config.n_layer, vocab_size, cls.gates
        layers = G * H * (E + H) + (L - 1) * G * H * (H + H) + L * 2 * G * H
        initial = len(cls.state_names) * L * H if config.learned_init else 0
        return V * E + layers + initial + H * V + V

    @property
    def context_size(self) -> None:
        return None

    def init_state(self, batch_size: int) -> State:
        L, H = self.config.n_layer, self.config.hidden
        state = {}
        for name in self.state_names:
            if name in self.initial:
                state[name] = self.initial[name].expand(batch_size, L, H)  # (B, L, H)
            else:
                state[name] = torch.zeros(batch_size, L, H, device=self.device)  # (B, L, H)
        return state

    def forward_from(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """idx (B, T) read from ``state`` -> logits (B, T, V) and the state after idx."""
        x = self.embedding(idx)  # (B, T, E)
        # (B, L, H) -> (L, B, H); the LSTM takes (h, c), the RNN and GRU take h alone.
        module_state = tuple(state[name].transpose(0, 1).contiguous() for name in self.state_names)
        out, final = self.rnn(x, module_state if len(module_state) > 1 else module_state[0])
        logits = self.head(self.drop(out))  # (B, T, V)
        final = final if isinstance(final, tuple) else (final,)
        names = self.state_names
        return logits, {n: s.transpose(0, 1) for n, s in zip(names, final, strict=True)}

    def forward_sequence(self, idx: torch.Tensor) -> torch.Tensor:
        logits, _ = self.forward_from(idx, self.init_state(idx.shape[0]))
        return logits  # (B, T, V)

    def layer_weights(self, k: int) -> CellWeights:
        """Layer k's weights, by the names the fused and the written-out stacks share."""
        return CellWeights(*(getattr(self.rnn, f"{name}_l{k}") for name in CellWeights._fields))

    def trace_recurrence(self, idx: torch.Tensor, targets: torch.Tensor) -> dict[str, Any] | None:
        return trace_recurrence(self, idx, targets)  # gates and gradient reach: recurrent_trace.py

    def unit_groups(self) -> UnitGroups:
        """The state carried from character to character: h (and the LSTM's cell c)."""
        names = {"h": "hidden", "c": "cell"}
        return UnitGroups(from_state={names[key]: key for key in self.state_names})


class RNN(Recurrent):
    family = "rnn"
    fused_class = nn.RNN
    equations_class = EquationRNN


class GRU(Recurrent):
    family = "gru"
    fused_class = nn.GRU
    equations_class = EquationGRU
    gates = 3


class LSTM(Recurrent):
    family = "lstm"
    fused_class = nn.LSTM
    equations_class = EquationLSTM
    state_names = ("h", "c")
    gates = 4

    def __init__(self, config: RecurrentConfig, vocab_size: int):
        super().__init__(config, vocab_size)
        # Forget-gate bias 1 (Jozefowicz et al., 2015): start by remembering, so gradients
        # reach far back before the network has learned what is worth keeping.
        H = config.hidden
        with torch.no_grad():
            for k in range(config.n_layer):
                getattr(self.rnn, f"bias_ih_l{k}")[H : 2 * H] = 1.0
                getattr(self.rnn, f"bias_hh_l{k}")[H : 2 * H] = 0.0
