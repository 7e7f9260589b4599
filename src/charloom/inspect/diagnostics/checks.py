"""Checks that read the recorded statistics and say what is wrong, why, and what to do.

Each check returns ``Finding``s: the level (``ok``, ``note``, ``warning``, ``error``), the
step, what was seen, and the cause and the fix in a sentence or two. The thresholds are
the lectures' rules of thumb:

- the loss at step 0 should be about ln(V), the loss of a uniform guess over V symbols;
- few tanh outputs should sit in the flat tails |tanh| > 0.97, and no unit there for a
  whole batch (a dead unit never learns);
- each update should move a weight matrix by about 1e-3 of its own size:
  log10(std(update) / std(weights)) near -3;
- the loss must stay a number and must not run away from where it started.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from charloom.divergence import EXPLODE_FACTOR, EXPLODE_STEPS, exploded, exploded_message

LEVELS = ("ok", "note", "warning", "error")

INITIAL_LOSS_NOTE = 0.1  # nats above ln(V): worth a note
INITIAL_LOSS_FAR = 0.5  # nats above ln(V): the softmax starts confidently wrong
SATURATION_LIMIT = 0.30  # fraction of a layer's outputs in the flat region
DEAD_LIMIT = 0.05  # fraction of a layer's units dead over a whole batch
UPDATE_TARGET = -3.0  # log10 update:data
UPDATE_LOW, UPDATE_HIGH = -4.0, -1.5  # outside: the learning rate is far off
UPDATE_WINDOW = 3  # recorded steps averaged before judging update:data


@dataclass(frozen=True)
class Finding:
    """One result of a check. ``message`` says what was seen, then the cause and the fix."""

    check: str
    level: str
    step: int
    message: str
    subject: str = ""
    value: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"check {self.check} [{self.level}] step {self.step}: {self.message}"


def worst(findings: Iterable[Finding]) -> str:
    levels = [LEVELS.index(f.level) for f in findings]
    return LEVELS[max(levels)] if levels else "ok"


# -- step 0 -------------------------------------------------------------------------------
def check_initial_loss(loss: float, vocab_size: int, step: int = 0) -> Finding:
    """The first loss against ln(V): a model that knows nothing should spread its bets."""
    expected = math.log(vocab_size)
    excess = loss - expected
    seen = f"initial loss {loss:.4f} vs ln({vocab_size}) = {expected:.4f}, the loss of a uniform guess"
    if not math.isfinite(loss) or excess > INITIAL_LOSS_FAR:
        return Finding(
            "initial-loss",
            "warning",
            step,
            f"{seen}: {excess:+.2f} nats. The softmax is confidently wrong at init: the output "
            "logits start large, and the first steps are spent squashing them (the hockey-stick "
            "loss curve). Fix: scale the output layer's initial weights down (x0.1, the MLP's "
            "--output-scale) and zero its bias, so the logits start near 0.",
            "output",
            loss,
        )
    if excess > INITIAL_LOSS_NOTE:
        return Finding(
            "initial-loss",
            "note",
            step,
            f"{seen}: {excess:+.2f} nats. The logits start a little large; scaling the output "
            "layer down further would save the first steps.",
            "output",
            loss,
        )
    return Finding(
        "initial-loss", "ok", step, f"{seen}: the model starts unsure, as it should.", "output", loss
    )


# -- layers -------------------------------------------------------------------------------
def check_layers(record: dict[str, Any]) -> list[Finding]:
    """Saturation and dead units in every layer of one recorded step that has a flat region
    (tanh, sigmoid: the tails; ReLU: zero)."""
    step = int(record["step"])
    layers = [layer for layer in record.get("layers", []) if "saturated" in layer["act"]]
    if not layers:
        return []
    return [_check_saturation(layers, step), _check_dead(layers, step)]


def _named(layers: list[dict], key: str) -> str:
    return ", ".join(f"{layer['name']} ({100 * layer['act'][key]:.0f}%)" for layer in layers)


def _check_saturation(layers: list[dict], step: int) -> Finding:
    peak = max(layers, key=lambda layer: layer["act"]["saturated"])
    value = peak["act"]["saturated"]
    hot = [layer for layer in layers if layer["act"]["saturated"] > SATURATION_LIMIT]
    if not hot:
        return Finding(
            "saturation",
            "ok",
            step,
            f"every watched nonlinearity under {SATURATION_LIMIT:.0%} in its flat region "
            f"(most: {peak['name']}, {value:.1%}).",
            peak["name"],
            value,
        )
    return Finding(
        "saturation",
        "warning",
        step,
        f"{_named(hot, 'saturated')} of outputs in the flat region (|tanh| > 0.97, or zero "
        "for ReLU), where the backward pass multiplies the gradient by 1 - tanh^2 < 0.06 (or "
        "0): those layers learn slowly. Cause: pre-activations too large. Fix: initialise the "
        "Linear before each with std gain/sqrt(fan_in) (gain 5/3 for tanh), add a "
        "BatchNorm/LayerNorm before the nonlinearity, or lower the learning rate if it grew "
        "during training.",
        peak["name"],
        value,
    )


def _check_dead(layers: list[dict], step: int) -> Finding:
    peak = max(layers, key=lambda layer: layer["act"]["dead"])
    value = peak["act"]["dead"]
    dead = [layer for layer in layers if layer["act"]["dead"] > DEAD_LIMIT]
    if not dead:
        detail = f"most: {peak['name']}, {peak['act']['dead_units']} of {peak['units']}" if value else "none"
        return Finding(
            "dead-units",
            "ok",
            step,
            f"no layer has over {DEAD_LIMIT:.0%} dead units ({detail}).",
            peak["name"],
            value,
        )
    return Finding(
        "dead-units",
        "warning",
        step,
        f"{_named(dead, 'dead')} of units flat on every example of the batch: dead units pass "
        "no gradient, so they never learn. Cause: weights or biases that push them into the "
        "flat region (too large an init gain, or a learning-rate step that knocked them "
        "there). Fix: a smaller init gain, a normalisation layer before the nonlinearity, or "
        "a lower learning rate.",
        peak["name"],
        value,
    )


# -- updates ------------------------------------------------------------------------------
def check_update_ratios(
    records: Sequence[dict[str, Any]],
    warmup_steps: int = 0,
    peak_lr: float | None = None,
    muon: Iterable[str] = (),
) -> list[Finding]:
    """log10(update:data) of each weight matrix, averaged over the last recorded steps after
    warm-up, against the rule of thumb -3.

    An update is proportional to the learning rate (SGD and Adam alike), so with ``peak_lr``
    each ratio is first moved to the peak rate, log10(ratio) + log10(peak_lr / lr): the
    check then judges ``--lr`` itself and stays quiet while a schedule decays it. The
    matrices named in ``muon`` are left out: Muon's orthogonalised steps are sized by
    ``--muon-lr`` and meant to be far larger than the rule of thumb.
    """
    usable = [r for r in records if r.get("updates") and r["step"] >= warmup_steps][-UPDATE_WINDOW:]
    if not usable:
        return []
    step = int(usable[-1]["step"])
    matrices = {p["name"] for p in usable[-1].get("params", []) if len(p["shape"]) >= 2} - set(muon)
    means = {}
    for name in sorted(matrices):
        values = [
            r["updates"][name] + _to_peak(r.get("lr"), peak_lr)
            for r in usable
            if r["updates"].get(name) is not None
        ]
        if values:
            means[name] = sum(values) / len(values)
    if not means:
        return []
    low = {n: v for n, v in means.items() if v < UPDATE_LOW}
    high = {n: v for n, v in means.items() if v > UPDATE_HIGH}
    lr = peak_lr or usable[-1].get("lr")
    at = f" (--lr is {lr:.3g})" if lr else ""
    parts = []
    if low:
        parts.append(
            f"log10 update:data of {_listed(low)} is below {UPDATE_LOW:g}, far under the guide -3: "
            "each step moves those weights by under 1/10,000 of their size, so they barely learn. "
            f"Fix: raise the learning rate{at}."
        )
    if high:
        parts.append(
            f"log10 update:data of {_listed(high)} is above {UPDATE_HIGH:g}, far over the guide -3: "
            "each step rewrites a large part of those weights, so training is noisy or unstable. "
            f"Fix: lower the learning rate{at}."
        )
    if parts:
        off = {**low, **high}
        name = max(off, key=lambda n: abs(off[n] - UPDATE_TARGET))
        return [Finding("update-ratio", "warning", step, " ".join(parts), name, off[name])]
    spread = f"{min(means.values()):+.1f} to {max(means.values()):+.1f}"
    return [
        Finding(
            "update-ratio",
            "ok",
            step,
            f"log10 update:data of every weight matrix within "
            f"[{UPDATE_LOW:g}, {UPDATE_HIGH:g}] ({spread}; guide -3).",
        )
    ]


def _to_peak(lr: float | None, peak_lr: float | None) -> float:
    return math.log10(peak_lr / lr) if lr and peak_lr else 0.0


def _listed(ratios: dict[str, float]) -> str:
    return ", ".join(f"{name} ({value:+.1f})" for name, value in ratios.items())


# -- the loss over time --------------------------------------------------------------------
def check_loss_curve(losses: Sequence[float], initial: float, start_step: int = 0) -> Finding:
    """NaN or a loss that ran away: above EXPLODE_FACTOR x the initial loss on average over
    the last EXPLODE_STEPS steps. ``losses[i]`` is the loss of step ``start_step + i``."""
    for i, value in enumerate(losses):
        if not math.isfinite(value):
            return Finding(
                "loss",
                "error",
                start_step + i,
                f"the loss became {value} at step {start_step + i}. Cause: a step too large for "
                "the curvature (learning rate) or an overflow. Fix: stop, keep the last good "
                "checkpoint, and resume or restart with a lower learning rate.",
                "",
                value,
            )
    recent = list(losses[-EXPLODE_STEPS:])
    step = start_step + len(losses) - 1
    if len(recent) == EXPLODE_STEPS and exploded(recent, initial):
        mean = sum(recent) / len(recent)
        return Finding("loss", "error", step, exploded_message(mean, initial, step), "", mean)
    peak = max(recent, default=initial)
    if peak > EXPLODE_FACTOR * initial:
        return Finding(
            "loss",
            "warning",
            step,
            f"the loss spiked to {peak:.3f}, over {EXPLODE_FACTOR:g}x the initial {initial:.3f}. "
            "Cause: a learning rate at the edge of stability. Fix: lower it, or clip gradients "
            "harder (--grad-clip).",
            "",
            peak,
        )
    return Finding(
        "loss",
        "ok",
        step,
        f"the loss stayed finite and below {EXPLODE_FACTOR:g}x the initial {initial:.3f}.",
        "",
        recent[-1] if recent else None,
    )


# -- a whole run, or a model at init ---------------------------------------------------------
def check_records(
    records: Sequence[dict[str, Any]],
    vocab_size: int,
    warmup_steps: int = 0,
    peak_lr: float | None = None,
    muon: Iterable[str] = (),
) -> list[Finding]:
    """Every check over a run's recorded diagnostics (see ``charloom.inspect.diagnostics.watch``):
    the initial loss, layers at the first and the last recorded step, update ratios, and
    the per-step loss curve."""
    findings: list[Finding] = []
    full = [r for r in records if "layers" in r]
    if full and full[0]["step"] == 0 and full[0].get("loss") is not None:
        findings.append(check_initial_loss(full[0].get("initial_loss") or full[0]["loss"], vocab_size))
    for record in full[:1] + full[-1:] if len(full) > 1 else full:
        findings += check_layers(record)
    updates = check_update_ratios(full, warmup_steps, peak_lr, muon)
    if not updates and any(r.get("updates") for r in full):
        updates = [
            Finding(
                "update-ratio",
                "note",
                int(full[-1]["step"]),
                f"not judged: every recorded step falls in the warm-up (the first {warmup_steps} "
                "steps), where the learning rate is still ramping up.",
            )
        ]
    findings += updates
    steps, losses = per_step_losses(records)
    if losses:
        initial = (
            (full[0].get("initial_loss") or full[0]["loss"]) if full and full[0]["step"] == 0 else losses[0]
        )
        findings.append(check_loss_curve(losses, initial, steps[0]))
    return findings


def per_step_losses(
    records: Sequence[dict[str, Any]], key: str = "recent_losses"
) -> tuple[list[int], list[float]]:
    """The loss of every step, from the losses each line lists of the steps up to its own
    (diagnostics.jsonl's ``recent_losses``, metrics.jsonl's ``step_losses``)."""
    steps, losses = [], []
    for record in records:
        recent = record.get(key) or []
        first = int(record["step"]) - len(recent) + 1
        for i, value in enumerate(recent):
            if not steps or first + i > steps[-1]:
                steps.append(first + i)
                losses.append(value if value is not None else math.nan)
    return steps, losses


def check_model(model: Any, inputs: Any, targets: Any, layout: Any = None) -> list[Finding]:
    """Step-0 checks of a model on one batch (laid out as ``layout``, default as the model
    trains): initial loss, saturation, dead units.

    >>> findings = check_model(MLP(MLPConfig(output_scale=10.0), 27), windows, targets)  # doctest: +SKIP
    >>> [f.check for f in findings if f.level == "warning"]
    ['initial-loss']
    """
    from charloom.inspect.diagnostics.hooks import probe

    record = probe(model, inputs, targets, layout)
    return [check_initial_loss(record["loss"], model.vocab_size), *check_layers(record)]
