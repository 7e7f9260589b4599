"""What watches training: a base class of named hooks the training loop calls.

The loop knows nothing of what watches it. At each moment it calls that hook on every
callback, in order, the trainer first:

    on_train_start(trainer)                once, before the first step
    before_step(trainer, step)             a batch is about to be drawn
    after_backward(trainer, step, loss)    gradients are there; loss: the batch's mean
    after_update(trainer, step, lr)        the optimiser has stepped
    on_eval(trainer, entry)                an evaluation was made (its metrics.jsonl line)
    before_checkpoint(trainer)             a checkpoint is about to be written
    on_train_end(trainer)                  the loop has ended (normally or not)

A callback derives from ``Callback`` and overrides the hooks it needs; a method named
like a hook that is none (``on_evaluate``) is refused, not skipped. What a callback must
carry across ``--resume`` it returns from ``state_dict`` (plain JSON data), saved in the
checkpoint and handed back to ``load_state_dict`` before ``on_train_start``.
Diagnostics and TensorBoard (``inspect.diagnostics.watch``), samples as training goes
(``generate.during_training``) and the console report (``train.callbacks``) are
callbacks; a hook may raise to stop training (``TrainingDiverged``). The loss guard is
the loop's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HOOKS = (
    "on_train_start",
    "before_step",
    "after_backward",
    "after_update",
    "on_eval",
    "before_checkpoint",
    "on_train_end",
)
HOOK_PREFIXES = ("on_", "before_", "after_")


class Callback:
    """Watches training; every hook does nothing until overridden."""

    def on_train_start(self, trainer: Any) -> None:
        pass

    def before_step(self, trainer: Any, step: int) -> None:
        pass

    def after_backward(self, trainer: Any, step: int, loss: Any) -> None:
        pass

    def after_update(self, trainer: Any, step: int, lr: float) -> None:
        pass

    def on_eval(self, trainer: Any, entry: dict) -> None:
        pass

    def before_checkpoint(self, trainer: Any) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass

    def state_dict(self) -> dict:
        """What resuming needs (JSON data); nothing by default."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class Callbacks:
    """Calls a hook on every callback, in the order given, and gathers their states."""

    def __init__(self, trainer: Any, callbacks: Iterable[Callback] = ()):
        self.trainer = trainer
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"{type(callback).__name__} is not a charloom.Callback; derive from it")
            for name in dir(type(callback)):
                if name.startswith(HOOK_PREFIXES) and name not in HOOKS:
                    raise TypeError(
                        f"{type(callback).__name__}.{name} is not a training hook; the hooks are "
                        + ", ".join(HOOKS)
                    )

    def call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self.trainer, *args)

    def state_dict(self) -> dict[str, dict]:
        return {self._key(i, cb): cb.state_dict() for i, cb in enumerate(self.callbacks)}

    def load_state_dict(self, states: dict[str, dict]) -> None:
        for i, callback in enumerate(self.callbacks):
            state = states.get(self._key(i, callback))
            if state is not None:
                callback.load_state_dict(state)

    @staticmethod
    def _key(index: int, callback: Callback) -> str:
        return f"{index}.{type(callback).__name__}"
