"""What watches training for its health: statistics, checks, and the loss guard.

``TrainingWatch`` is a training callback (see ``train.callbacks``); the trainer calls it
at four points of a step, at each evaluation and before each checkpoint:

    before_step(step)             arm the hooks if this step is recorded
    after_backward(step, loss)    gradients, grad:data; a loss spike; parameters saved
    after_update(step, lr)        update:data from the step actually taken; write, check
    on_eval(entry)                the periodic eval (step-0 loss check, TensorBoard)
    before_checkpoint()           the per-step losses so far, before a checkpoint

Without ``every`` (no ``--diagnostics``) no hook is attached and only two checks speak:
the initial loss against ln(V) (always printed: one line that says whether the model
starts unsure, as it should), and a warning the first time one step's loss spikes past
the line where a run that stayed there would be stopped (the loop's ``LossGuard``
stops it).

Each recorded step is one line of ``diagnostics.jsonl``::

    {"step", "loss", "lr", "recent_losses": [loss of every step since the last line],
     "layers": [{name, type, kind, units, rows, act: {mean, std, hist, saturated, dead,
                 dead_units}, grad: {mean, std, hist}}],
     "params": [{name, shape, data_std, grad_mean, grad_std, grad_data, hist}],
     "updates": {param: log10 update:data}, "maps": {layer: packed saturation map},
     "recurrence": {gates: [{layer, gate, left, right, mean}], reach: [...]}}  (recurrence.py)

Saturation maps are written for step 0 and, when the watch closes, for the last
recorded step (a short line with only ``step`` and ``maps``); short lines with only
``step`` and ``recent_losses`` carry the losses of steps after the last record (written
before checkpoints and at the end). ``read_diagnostics`` merges lines by step.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from charloom.callback import Callback
from charloom.divergence import EXPLODE_FACTOR
from charloom.inspect.diagnostics import checks
from charloom.inspect.diagnostics.checks import Finding
from charloom.inspect.diagnostics.hooks import (
    SATURATION,
    LayerTap,
    snapshot,
    summarize_parameters,
    update_ratios,
)
from charloom.inspect.diagnostics.recurrence import check_recurrence, probe_batch, recurrence_record
from charloom.inspect.diagnostics.tensorboard import Scalars
from charloom.rundir import DIAGNOSTICS_FILE


class TrainingWatch(Callback):
    """Records diagnostics every ``every`` steps (None: only the two cheap checks) and
    prints the checks' findings as they change."""

    def __init__(
        self,
        out: Path | str | None = None,
        model: torch.nn.Module | None = None,
        every: int | None = None,
        log: Callable[[str], None] = print,
        warmup_steps: int = 0,
        peak_lr: float | None = None,
    ):
        if model is not None:
            self.attach(Path(out or "."), model, every, log, warmup_steps, peak_lr)

    def on_train_start(self, trainer: Any) -> None:
        """As a training callback: watch the trainer's model, with its run's settings."""
        c = trainer.config
        self.attach(
            trainer.out,
            trainer.model,
            c.diagnostics_every,
            lambda message: trainer.log(message),
            c.warmup_steps,
            c.lr,
            trainer.state.counters.initial_loss,
            c.saturation,
        )
        optimizer = trainer.state.optimizer
        if optimizer is not None:
            names = {id(param): name for name, param in trainer.model.named_parameters()}
            self.muon = {names[id(p)] for g in optimizer.param_groups if g.get("muon") for p in g["params"]}
        train = trainer.batches.get("train")
        if self.tap is not None and train is not None and trainer.model.carries_state:
            self.probe = probe_batch(train)  # a recurrent family: watched through time too

    def attach(
        self,
        out: Path,
        model: torch.nn.Module,
        every: int | None,
        log: Callable[[str], None],
        warmup_steps: int = 0,
        peak_lr: float | None = None,
        initial: float | None = None,
        saturation: float = SATURATION,
    ) -> None:
        """Watch ``model``; ``initial``: the first step's loss of a run being resumed."""
        self.out, self.model, self.every, self.log = Path(out), model, every, log
        self.warmup_steps, self.peak_lr = warmup_steps, peak_lr
        self.active = not model.fitted_by_counting
        self.tap = LayerTap(model, saturation) if every and self.active else None
        self.scalars = Scalars(self.out / "tensorboard") if self.tap else None
        self.initial = initial  # the spike warning measures from where the run began
        self.muon: set[str] = set()  # matrices Muon trains: their update ratios are not judged
        self.recent: list[float | None] = []
        self.history: deque[dict] = deque(maxlen=checks.UPDATE_WINDOW)
        self.pending: dict[str, Any] | None = None
        self.before: dict[str, torch.Tensor] = {}
        self.last_maps: tuple[int, dict] | None = None
        self.said: dict[str, str] = {}
        self.spiked = False
        self.last_step: int | None = None
        self.probe: tuple[torch.Tensor, torch.Tensor] | None = None  # for recurrence.py

    # -- the four calls ---------------------------------------------------------------
    def before_step(self, trainer: Any, step: int) -> None:
        if self.tap is not None and step % self.every == 0:
            self.tap.arm()

    def after_backward(self, trainer: Any, step: int, loss: torch.Tensor) -> None:
        value = loss.item()
        self.last_step = step
        if self.initial is None:
            self.initial = value
            if step == 0:
                self._say(checks.check_initial_loss(value, self.model.vocab_size))
        if self.tap is not None:
            self.recent.append(value if math.isfinite(value) else None)
        self._spike(step, value)
        if self.tap is not None and self.tap.armed:
            self.pending = {
                "step": step,
                "loss": value,
                **self.tap.take(),
                "params": summarize_parameters(self.model),
            }
            if self.probe is not None:
                recurrence = recurrence_record(self.model, self.probe)
                if recurrence is not None:
                    self.pending["recurrence"] = recurrence
            self.before = snapshot(self.model)
            self.tap.disarm()
        if self.scalars is not None:
            self.scalars.add({"loss/train_step": value}, step)

    def after_update(self, trainer: Any, step: int, lr: float) -> None:
        if self.pending is None:
            return
        record, self.pending = self.pending, None
        record["lr"] = lr
        record["updates"] = update_ratios(self.model, self.before)
        self.before = {}
        maps = record.pop("maps")
        if step == 0:
            record["maps"], record["initial_loss"] = maps, self.initial
        self.last_maps = (step, maps)
        record["recent_losses"], self.recent = self.recent, []
        self._write(record)
        self.history.append(
            {
                "step": step,
                "lr": lr,
                "updates": record["updates"],
                "params": [{"name": p["name"], "shape": p["shape"]} for p in record["params"]],
            }
        )
        updates = checks.check_update_ratios(self.history, self.warmup_steps, self.peak_lr, self.muon)
        for finding in checks.check_layers(record) + updates + check_recurrence(record):
            self._say(finding)
        self._scalars(record)

    def on_eval(self, trainer: Any, entry: dict[str, Any]) -> None:
        if not self.active:
            return
        if entry["step"] == 0 and entry.get("val_loss") is not None and self.initial is None:
            self.initial = entry["val_loss"]
            self._say(checks.check_initial_loss(self.initial, self.model.vocab_size))
        if self.scalars is not None:
            self.scalars.add(
                {
                    "loss/train": entry.get("train_loss"),
                    "loss/val": entry.get("val_loss"),
                    "lr": entry.get("lr"),
                },
                entry["step"],
            )

    # -- closing -------------------------------------------------------------------------
    def before_checkpoint(self, trainer: Any) -> None:
        self.flush()

    def on_train_end(self, trainer: Any) -> None:
        self.close()

    def flush(self) -> None:
        """Write the losses of the steps since the last line (the trainer calls this before
        a checkpoint, so that a resumed run's loss curve has no gap)."""
        if self.tap is not None and self.recent and self.last_step is not None:
            self._write({"step": self.last_step, "recent_losses": self.recent})
        self.recent = []

    def close(self) -> None:
        """Write the last saturation map and the losses after the last line; unhook."""
        if self.tap is not None:
            if self.last_maps is not None and self.last_maps[0] > 0:
                self._write({"step": self.last_maps[0], "maps": self.last_maps[1]})
            self.flush()
            self.tap.remove()
            self.tap = None
        if self.scalars is not None:
            self.scalars.close()

    # -- helpers ---------------------------------------------------------------------------
    def _spike(self, step: int, value: float) -> None:
        """Say so once when a single step's loss first crosses EXPLODE_FACTOR x the initial
        (the loop stops the run if the loss stays there)."""
        if value > EXPLODE_FACTOR * self.initial and not self.spiked:
            self.spiked = True
            self._say(checks.check_loss_curve([value], self.initial, step))

    def _say(self, finding: Finding) -> None:
        """Print a finding when its check's level changes. Without diagnostics only two
        checks run: the initial loss, which always speaks, and the loss guard, which speaks
        when something is wrong."""
        if self.tap is None and finding.level == "ok" and finding.check != "initial-loss":
            return
        if self.said.get(finding.check) == finding.level:
            return
        self.said[finding.check] = finding.level
        self.log(finding.line())

    def _write(self, record: dict[str, Any]) -> None:
        with open(self.out / DIAGNOSTICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")

    def _scalars(self, record: dict[str, Any]) -> None:
        if self.scalars is None or not self.scalars.active:
            return
        values: dict[str, float | None] = {}
        for layer in record["layers"]:
            values[f"act_std/{layer['name']}"] = layer["act"]["std"]
            values[f"saturated/{layer['name']}"] = layer["act"].get("saturated")
        for param in record["params"]:
            values[f"grad_data/{param['name']}"] = param.get("grad_data")
        for name, ratio in record["updates"].items():
            values[f"update_data_log10/{name}"] = ratio
        self.scalars.add(values, record["step"])


def read_diagnostics(run: str | Path) -> list[dict[str, Any]]:
    """The recorded steps of a run, one dict per step (lines of the same step merged),
    in step order; empty when the run recorded none."""
    path = Path(run) / DIAGNOSTICS_FILE
    if not path.exists():
        return []
    merged: dict[int, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        merged.setdefault(int(record["step"]), {}).update(record)
    return [merged[step] for step in sorted(merged)]
