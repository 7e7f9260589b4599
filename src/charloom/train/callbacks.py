"""The console's report of training: one of the callbacks (``charloom.callback``)."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

from charloom.callback import Callback


def fmt_loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


class ConsoleReport(Callback):
    """One line per evaluation, and a progress bar on a terminal. While the bar is up,
    the trainer's log writes above it, so that every callback's words stay readable."""

    def __init__(self, progress_bar: bool = False, every: int = 20):
        self.progress_bar, self.every = progress_bar, every
        self.bar: Any = None

    def on_train_start(self, trainer: Any) -> None:
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

    def after_update(self, trainer: Any, step: int, lr: float) -> None:
        self.bar.update(1)
        if (step + 1) % self.every == 0:
            window = trainer.window
            self.bar.set_postfix(loss=f"{window.recent_loss(self.every):.4f}", tok_s=f"{window.rate:,.0f}")

    def on_eval(self, trainer: Any, entry: dict) -> None:
        speed = entry["tokens_per_s"]
        trainer.log(
            f"step {entry['step']:>6}  train {fmt_loss(entry['train_loss'])}  "
            f"val {fmt_loss(entry['val_loss'])}" + (f"  {speed:,.0f} tok/s" if speed else "")
        )

    def on_train_end(self, trainer: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            if self.progress_bar:
                trainer.log = self._log
