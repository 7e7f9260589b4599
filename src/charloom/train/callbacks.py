"""What watches training: a small protocol of hooks the loop calls, and the console's
report, which is one of them.

The loop knows nothing of what watches it. At each moment it calls that hook on every
callback that has it, in order:

    on_train_start(trainer)     once, before the first step: the model, run folder, config
    before_step(step)           a batch is about to be drawn
    after_backward(step, loss)  gradients are there; loss is the batch's mean loss
    after_update(step, lr)      the optimiser has stepped
    on_eval(entry)              an evaluation was made (entry: the metrics.jsonl line)
    before_checkpoint()         a checkpoint is about to be written
    on_train_end()              the loop has ended (normally or not)

A callback implements the hooks it needs; the rest are simply absent. Diagnostics, the
divergence guard and TensorBoard (``inspect.diagnostics.watch``), samples as training
goes (``generate.during_training``) and the console report below are callbacks, and a
hook may raise to stop training (``TrainingDiverged``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tqdm.auto import tqdm

HOOKS = (
    "on_train_start",
    "before_step",
    "after_backward",
    "after_update",
    "on_eval",
    "before_checkpoint",
    "on_train_end",
)


class Callbacks:
    """Calls a hook on every callback that has it, in the order given."""

    def __init__(self, callbacks: Iterable[Any] = ()):
        self.callbacks = list(callbacks)
        self._hooks = {
            name: [getattr(cb, name) for cb in self.callbacks if hasattr(cb, name)] for name in HOOKS
        }

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name not in HOOKS:
            raise AttributeError(name)
        hooks = self._hooks[name]

        def call(*args: Any) -> None:
            for hook in hooks:
                hook(*args)

        return call


def fmt_loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


class ConsoleReport:
    """One line per evaluation, and a progress bar on a terminal. While the bar is up,
    the trainer's log writes above it, so that every callback's words stay readable."""

    def __init__(self, progress_bar: bool = False, every: int = 20):
        self.progress_bar, self.every = progress_bar, every
        self.bar: Any = None
        self.trainer: Any = None

    def on_train_start(self, trainer: Any) -> None:
        self.trainer = trainer
        self.bar = tqdm(
            total=trainer.step_limit,
            initial=trainer.step,
            disable=not self.progress_bar,
            unit="step",
            dynamic_ncols=True,
            leave=False,
        )
        if self.progress_bar:
            self._log, trainer.log = trainer.log, self.bar.write

    def after_update(self, step: int, lr: float) -> None:
        self.bar.update(1)
        if (step + 1) % self.every == 0:
            window = self.trainer.window
            self.bar.set_postfix(loss=f"{window.recent_loss(self.every):.4f}", tok_s=f"{window.rate:,.0f}")

    def on_eval(self, entry: dict) -> None:
        speed = entry["tokens_per_s"]
        self.trainer.log(
            f"step {entry['step']:>6}  train {fmt_loss(entry['train_loss'])}  "
            f"val {fmt_loss(entry['val_loss'])}" + (f"  {speed:,.0f} tok/s" if speed else "")
        )

    def on_train_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.progress_bar and self.trainer is not None:
            self.trainer.log = self._log
