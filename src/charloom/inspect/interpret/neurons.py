"""What the units of a trained model do, character by character.

``capture`` feeds a text through a model one character at a time, with its public
``init_state``/``step``, and records at every position:

- every unit of every layer, for each quantity the family has: recurrent models the
  state they carry (``hidden`` h, and ``cell`` c for the LSTM), read from the state
  ``step`` returns; transformers, through forward hooks, the output of each block
  (``residual``), of its attention (``attn``, at ``attn.c_proj``), of its MLP (``mlp``)
  and the MLP's hidden GELU units (``mlp_hidden``);
- the model's five most likely next characters and their probabilities.

``discover`` then looks for interpretable units the way Karpathy found his quote cell
by eye: for each feature of the text f_t (inside quotes, inside brackets, ...) and each
unit a_t it computes Pearson's correlation over characters

    r = sum_t (a_t - mean a)(f_t - mean f) / sqrt(sum_t (a_t - mean a)^2 sum_t (f_t - mean f)^2)

picks the best units on the first part of the text and reports r again on the held-out
rest, so a unit that fits one passage by chance shows it.

>>> trace = capture(run.model, run.vocab, 'she said "hi" (twice)', "text")   # doctest: +SKIP
>>> discover(trace, builtin_features(trace.text))[0].units[0]               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from charloom.data.vocab import BOUNDARY_ID, Vocab
from charloom.errors import CharloomError
from charloom.inspect.interpret.features import (  # the features of a text; importable from here too
    BRACKETS,  # noqa: F401
    builtin_features,  # noqa: F401
    inside_brackets,  # noqa: F401
    inside_quotes,  # noqa: F401
    line_position,  # noqa: F401
    parse_feature,  # noqa: F401
    regex_feature,  # noqa: F401
)
from charloom.models.base import CharModel, UnitGroups

TOP_K = 5
MIN_PART = 4  # characters in each of discovery's two parts, for an r that means anything
BOUNDARY_CHAR = "\n"  # in line mode the boundary token stands where the newline is


@dataclass
class Trace:
    """A model read along a text.

    ``text[t]`` is the character fed at position t (in line mode the boundary is shown
    as a newline); ``quantities[name]`` is an array (T, L, U): T positions, L layers, U
    units; ``guesses[t]`` the TOP_K characters most likely to follow position t and
    ``probs[t]`` their probabilities.
    """

    text: str
    quantities: dict[str, np.ndarray]
    guesses: list[list[str]]
    probs: np.ndarray  # (T, TOP_K)
    family: str = ""

    def __len__(self) -> int:
        return len(self.text)


def read_items(text: str, fmt: str) -> list[str]:
    """A line-mode text as its items (non-empty lines); a running text stays one piece."""
    if fmt == "lines":
        return [line for line in text.split("\n") if line]
    return [text]


def capture(model: CharModel, vocab: Vocab, text: str, fmt: str, max_chars: int | None = None) -> Trace:
    """Run ``model`` over ``text`` step by step and record its units and its top guesses.

    In line mode every item is read as in training: from a fresh state, boundary first,
    then its characters; the guesses after the last character include the boundary.
    """
    pieces = read_items(text, fmt)
    if fmt == "lines":
        pieces = [BOUNDARY_CHAR + item for item in pieces]
    if max_chars is not None:
        pieces = _cap(pieces, max_chars)
    if not pieces or not "".join(pieces):
        raise CharloomError("the text to inspect is empty; give some characters with --text or --prefix")
    for piece in pieces:
        vocab.check(piece[1:] if fmt == "lines" else piece, "text to inspect")
    recorder = _recorder_for(model)
    model.eval()
    collected: dict[str, list[np.ndarray]] = {}
    logits_all = []
    with torch.no_grad(), recorder:
        for piece in pieces:
            state = model.init_state(1)
            for t, char in enumerate(piece):
                token = BOUNDARY_ID if fmt == "lines" and t == 0 else vocab.encode(char)[0]
                logits, state = model(torch.tensor([[token]], device=model.device), state)
                logits_all.append(logits[0, -1].float().cpu())
                for name, value in recorder.read(state).items():
                    collected.setdefault(name, []).append(value)
    probs = torch.softmax(torch.stack(logits_all), dim=-1)  # (T, V)
    top = probs.topk(min(TOP_K, probs.shape[1]), dim=-1)
    guesses = [[_shown(vocab, int(i)) for i in row] for row in top.indices]
    quantities = {name: np.stack(values) for name, values in collected.items()}  # (T, L, U)
    return Trace("".join(pieces), quantities, guesses, top.values.numpy(), model.family)


def _cap(pieces: list[str], max_chars: int) -> list[str]:
    kept, total = [], 0
    for piece in pieces:
        if total + len(piece) > max_chars:
            if max_chars - total > 0:
                kept.append(piece[: max_chars - total])
            break
        kept.append(piece)
        total += len(piece)
    return kept


def _shown(vocab: Vocab, token_id: int) -> str:
    return BOUNDARY_CHAR if vocab.boundary and token_id == BOUNDARY_ID else vocab.symbol(token_id)


# -- reading units ---------------------------------------------------------------------


class _UnitRecorder:
    """Reads the units a model offers (``CharModel.unit_groups``) after every step: state
    entries (B, L, U) straight from the state ``step`` returned, and module outputs through
    forward hooks. A transformer's step either adds one position (T = 1, with the cache) or
    re-encodes the window when the cache is full; either way the last position is the new
    character."""

    def __init__(self, groups: UnitGroups):
        self.groups = groups
        self.latest: dict[tuple[str, int], np.ndarray] = {}
        self.handles: list = []

    def __enter__(self):
        for name, modules in self.groups.hooked.items():
            for layer, module in enumerate(modules):
                self.handles.append(module.register_forward_hook(self._hook(name, layer)))
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _hook(self, name: str, layer: int) -> Callable:
        def hook(module, inputs, output):
            tensor = output[0] if isinstance(output, tuple) else output  # Block returns (x, kv)
            self.latest[(name, layer)] = tensor[0, -1].float().cpu().numpy()  # (U,)

        return hook

    def read(self, state) -> dict[str, np.ndarray]:
        """quantity -> (L, U) for the position just stepped."""
        units = {name: state[key][0].float().cpu().numpy() for name, key in self.groups.from_state.items()}
        for name, modules in self.groups.hooked.items():
            units[name] = np.stack([self.latest[(name, k)] for k in range(len(modules))])
        return units


def _recorder_for(model: CharModel) -> _UnitRecorder:
    groups = model.unit_groups()
    if not groups:
        raise CharloomError(
            f"neuron pages read recurrent (rnn, gru, lstm) and transformer runs; this run is {model.family!r}"
        )
    return _UnitRecorder(groups)


# -- discovery ---------------------------------------------------------------------------


@dataclass
class Unit:
    quantity: str
    layer: int
    unit: int
    r: float  # on the part of the text the unit was chosen on
    r_heldout: float | None  # on the rest; None when the feature is constant there
    anchor: str = field(init=False)  # ``page.html#`` + anchor selects this unit in the page

    def __post_init__(self):
        self.anchor = f"quantity={self.quantity}&layer={self.layer}&unit={self.unit}"


@dataclass
class FeatureUnits:
    """A feature of the text and the units that track it best."""

    feature: str
    units: list[Unit] = field(default_factory=list)
    note: str = ""  # why there are no units, if there are none


def correlations(activations: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson r of every column of ``activations`` (T, U) with ``feature`` (T,); 0 for a
    constant unit, all NaN for a constant feature."""
    a = activations - activations.mean(axis=0)
    f = feature - feature.mean()
    norm_f = np.sqrt((f * f).sum())
    norm_a = np.sqrt((a * a).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * f[:, None]).sum(axis=0) / (norm_a * norm_f)
    if norm_f == 0:
        return np.full(activations.shape[1], np.nan)
    return np.where(norm_a > 0, r, 0.0)


def discover(
    trace: Trace, features: dict[str, np.ndarray], top: int = 3, fit_fraction: float = 0.5
) -> list[FeatureUnits]:
    """For each feature, the ``top`` units with the largest |r| on the first
    ``fit_fraction`` of the text, with their r on the rest."""
    split = int(len(trace) * fit_fraction)
    if min(split, len(trace) - split) < MIN_PART:
        note = f"the text is too short to fit and confirm on ({len(trace)} characters)"
        return [FeatureUnits(name, note=note) for name in features]
    columns, labels = [], []
    for name, values in trace.quantities.items():
        T, L, U = values.shape
        columns.append(values.reshape(T, L * U))
        labels += [(name, layer, unit) for layer in range(L) for unit in range(U)]
    everything = np.concatenate(columns, axis=1).astype(np.float64)  # (T, all units)
    findings = []
    for feature_name, feature in features.items():
        fit = correlations(everything[:split], feature[:split])
        if np.isnan(fit).all():
            findings.append(FeatureUnits(feature_name, note="constant on the first part of the text"))
            continue
        held = correlations(everything[split:], feature[split:])
        order = np.argsort(-np.nan_to_num(np.abs(fit), nan=-1.0))[:top]
        units = [
            Unit(
                *labels[i],
                r=round(float(fit[i]), 4),
                r_heldout=None if np.isnan(held[i]) else round(float(held[i]), 4),
            )
            for i in order
        ]
        findings.append(FeatureUnits(feature_name, units))
    return findings


def interpretable_share(
    trace: Trace, features: dict[str, np.ndarray], threshold: float = 0.5, fit_fraction: float = 0.5
) -> dict:
    """How many units track some feature: for each unit the feature it follows best on the
    first part of the text (largest |r|), counted when |r| on the rest is still at least
    ``threshold`` (the slides' "about 5% of the cells" are such units)."""
    split = int(len(trace) * fit_fraction)
    units = sum(values.shape[1] * values.shape[2] for values in trace.quantities.values())
    if min(split, len(trace) - split) < MIN_PART or not features:
        return {"units": units, "tracking": 0, "share": 0.0, "threshold": threshold}
    everything = np.concatenate(
        [values.reshape(values.shape[0], -1) for values in trace.quantities.values()], axis=1
    ).astype(np.float64)
    fit = np.stack(
        [np.abs(np.nan_to_num(correlations(everything[:split], f[:split]))) for f in features.values()]
    )
    held = np.stack(
        [np.abs(np.nan_to_num(correlations(everything[split:], f[split:]))) for f in features.values()]
    )
    best = fit.argmax(axis=0)  # (units,): each unit's feature, chosen on the first part
    confirmed = held[best, np.arange(everything.shape[1])] >= threshold
    return {
        "units": units,
        "tracking": int(confirmed.sum()),
        "share": float(confirmed.mean()),
        "threshold": threshold,
    }


def format_findings(findings: list[FeatureUnits]) -> str:
    """The discovery table for a terminal."""
    lines = [f"{'feature':<16} {'quantity':<11} {'layer':>5} {'unit':>5} {'r (fit)':>8} {'r (held-out)':>12}"]
    for finding in findings:
        if not finding.units:
            lines.append(f"{finding.feature:<16} ({finding.note})")
        for unit in finding.units:
            held = "-" if unit.r_heldout is None else f"{unit.r_heldout:+.3f}"
            lines.append(
                f"{finding.feature:<16} {unit.quantity:<11} {unit.layer:>5} {unit.unit:>5} "
                f"{unit.r:>+8.3f} {held:>12}"
            )
    return "\n".join(lines)
