"""The training loop: one loop for every family.

Each step draws a random batch, computes the token-weighted NLL and updates. Every
``eval_every`` steps the whole validation split is scored (the best weights so far go
to ``model.safetensors``) and a checkpoint that can resume bit-for-bit is saved. Count
models (n-grams) skip the loop: one counting pass. What watches the loop (the console,
diagnostics, samples) are callbacks (``callbacks.py``); the loop imports none of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from charloom import io
from charloom.callback import Callbacks
from charloom.data.batches import IGNORE
from charloom.data.loading import split_batches
from charloom.data.vocab import Vocab
from charloom.device import autocast, resolve_device, resolve_dtype, to_device
from charloom.divergence import LossGuard
from charloom.errors import CharloomError, TrainingDiverged
from charloom.models.base import CharModel, detach_state
from charloom.models.likelihood import evaluate
from charloom.models.saved import load_weights
from charloom.rundir import RunDir
from charloom.train import distributed
from charloom.train.averaging import WeightAverage
from charloom.train.calibrate import calibrate_batchnorm
from charloom.train.checkpoint import TrainState, kept_checkpoint
from charloom.train.config import TrainConfig, parse_schedule
from charloom.train.interrupt import Interrupt, Interrupted
from charloom.train.optim import lr_at, make_optimizer, set_lr

TEXT_EVAL_TARGETS = 100_000  # periodic evals of running text read this much of val
CLOSING_EVAL_TARGETS = 250_000  # the closing ones this much of val and test: an estimate past it (se ~1e-3)


@dataclass
class Window:
    """What happened since the last evaluation: real tokens, seconds, per-step losses."""

    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)

    def recent_loss(self, steps: int) -> float:
        recent = self.losses[-steps:]
        return sum(recent) / max(len(recent), 1)


class Trainer:
    """Holds the model, optimiser and data of one run and trains it, writing to its folder."""

    def __init__(
        self,
        run_dir: RunDir,
        info: dict,
        model: CharModel,
        vocab: Vocab,
        config: TrainConfig,
        callbacks: Iterable[Any] = (),
        log: Callable[[str], None] = print,
        dist: distributed.Context | None = None,
    ):
        self.run_dir, self.info, self.model, self.vocab = run_dir, info, model, vocab
        self.config, self.log = config, log
        self.callbacks = Callbacks(self, callbacks)
        self.dist = dist or distributed.Context()
        self.format = info["data"]["format"]
        # under torchrun each process takes the GPU of its local rank
        self.device = distributed.rank_device(resolve_device(config.device), self.dist)
        self.dtype = resolve_dtype(config.dtype, self.device)
        model.to(self.device)  # before the optimiser, whose state lives beside the weights
        self.stateful = bool(config.stateful)  # the recurrent state carried across windows
        self.batches = split_batches(
            run_dir.split_paths(), vocab, self.format, model.training_layout, model.context_size,
            config.block_size, self.stateful, rows=config.batch_size,
        )  # fmt: skip
        if self.batches["train"] is None:
            raise CharloomError("the training split is empty; give more data")
        trained = not model.fitted_by_counting
        optimizer, self.step_loss, c = None, None, config
        if trained:
            optimizer = make_optimizer(model, c.optimizer, c.lr, c.weight_decay, c.muon_lr)
            self.step_loss = distributed.StepLoss(
                self.dist, model, c.batch_size, self.batches["train"].layout
            )
            if c.compile:
                self.step_loss.forward = torch.compile(model)
        # float16 gradients underflow without a loss scale; bfloat16 and float32 need none
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype == torch.float16 else None
        generator = torch.Generator()
        generator.manual_seed(config.seed + 1)
        # With --ema the average is what gets evaluated, sampled and saved as the model;
        # the raw weights go on training (and into last.safetensors).
        average = WeightAverage(model, config.ema) if config.ema and trained else None
        self.state = TrainState(model, optimizer, average, generator)
        self.resumed = False
        self.window = Window()
        self.guard = LossGuard()  # the loop's own stop for a loss that ran away

    @property
    def out(self) -> Path:
        return self.run_dir.path

    @property
    def step(self) -> int:
        return self.state.counters.step

    @property
    def eval_model(self) -> CharModel:
        average = self.state.average
        return average.model if average is not None else self.model

    @property
    def step_limit(self) -> int | None:
        """The step training ends at: ``--max-steps``, or ``--epochs`` passes over the
        training split, whichever comes first (None: the time budget alone)."""
        c = self.config
        limits = [c.max_steps] if c.max_steps else []
        if c.epochs:
            limits.append(c.epochs * self.batches["train"].epoch_steps(c.batch_size))
        return min(limits, default=None)

    def progress_fraction(self) -> float:
        """Progress in [0, 1] from steps or time, whichever is further along."""
        c, counters = self.config, self.state.counters
        parts = [counters.step / self.step_limit] if self.step_limit else []
        if c.time_budget:
            parts.append(counters.train_seconds / c.time_budget)
        return max(parts)

    def done(self) -> bool:
        c, counters = self.config, self.state.counters
        return (self.step_limit is not None and counters.step >= self.step_limit) or (
            c.time_budget is not None and counters.train_seconds >= c.time_budget
        )

    def current_lr(self) -> float:
        c = self.config
        schedule = parse_schedule(c.lr_schedule) if c.lr_schedule else None
        fraction = self.progress_fraction()
        return lr_at(c.optimizer, c.lr, fraction, self.step, c.warmup_steps, schedule, c.schedule, c.cooldown)

    # -- evaluation and checkpoints -------------------------------------------------
    def eval_split(self, name: str, limit: int | None = None) -> float | None:
        batches = self.batches[name]
        return None if batches is None else evaluate(self.eval_model, batches, max_targets=limit)["nll"]

    def closing_eval(self, name: str) -> dict | None:
        """The split's NLL once training is over: exact up to ``CLOSING_EVAL_TARGETS``
        targets, past that an estimate with its standard error (as nanoGPT's eval_iters
        bounds its figures), so that a huge text ends soon after its budget;
        ``charloom eval`` reads the whole split."""
        batches = self.batches[name]
        return None if batches is None else evaluate(self.model, batches, max_targets=CLOSING_EVAL_TARGETS)

    def record_eval(
        self, tokens_per_s: float | None, train_loss: float | None, step_losses: list[float] = ()
    ) -> None:
        """One line of metrics.jsonl; ``step_losses`` (every step's loss since the last
        line, already on the host for the console) make the per-step curve of any run."""
        if not self.dist.is_main:  # only rank 0 evaluates and writes
            return
        counters = self.state.counters
        limit = self.config.eval_max_targets or (None if self.format == "lines" else TEXT_EVAL_TARGETS)
        val = self.eval_split("val", limit)
        entry = {
            "step": counters.step,
            "train_loss": train_loss,
            "val_loss": val,
            "lr": self.current_lr(),
            "tokens_per_s": tokens_per_s,
            "train_seconds": round(counters.train_seconds, 3),
            "step_losses": [round(loss, 4) for loss in step_losses],
        }
        io.append_text(self.run_dir / RunDir.METRICS, json.dumps(entry) + "\n")
        if val is not None and val < counters.best_val:
            counters.best_val, counters.best_step = val, counters.step
            meta = {"step": counters.step, "val_loss": val}
            io.save_tensors(self.run_dir.weights_path("model"), self.eval_model.state_dict(), meta)
        self.callbacks.call("on_eval", entry)

    def save_checkpoint(self) -> None:
        self.callbacks.call("before_checkpoint")
        if not self.dist.is_main:
            return
        io.save_tensors(self.run_dir.weights_path("last"), self.model.state_dict(), {"step": self.step})
        self.state.save(self.run_dir.state_path, self.run_dir.log_sizes(), self.callbacks.state_dict())
        self.set_status("training", step=self.step)

    def load_checkpoint(self) -> None:
        if not self.run_dir.state_path.exists():
            raise CharloomError(f"{self.out} has no checkpoint to resume from; start over with --force")
        sizes, watchers = self.state.load(self.run_dir.state_path)
        self.callbacks.load_state_dict(watchers)
        self.guard.initial = self.state.counters.initial_loss
        self.resumed = True
        if self.dist.is_main:  # lines written after the checkpoint belong to work now redone
            self.run_dir.truncate_logs(sizes)
            io.remove_stale_temps(self.out)

    def set_status(self, state: str, **extra: Any) -> None:
        self.info["status"] = {**self.info.get("status", {}), "state": state, **extra}
        if self.dist.is_main:
            self.run_dir.write_info(self.info)

    # -- fitting ----------------------------------------------------------------------
    def run(self) -> dict:
        """Train (or count) to the end, then report val and test once."""
        self.set_status("training", step=self.step)
        self.callbacks.call("on_train_start")
        try:
            self.fit_counts() if self.model.fitted_by_counting else self.train_loop()
        except TrainingDiverged as exc:  # said in run.json, so a study reads it back, not retries
            self.set_status("diverged", step=self.step, reason=str(exc))
            raise
        finally:
            self.callbacks.call("on_train_end")
        return self.finish()

    def fit_counts(self) -> None:
        start = time.perf_counter()
        windows, targets = zip(*self.batches["train"].chunks(65536), strict=True)
        self.model.fit(torch.cat(windows), torch.cat(targets))
        self.state.counters.train_seconds = time.perf_counter() - start
        self.log(f"fitted {self.model.family} by counting in {self.state.counters.train_seconds:.2f}s")
        self.record_eval(tokens_per_s=None, train_loss=None)
        self.save_checkpoint()

    def train_loop(self) -> None:
        c, model, counters = self.config, self.model, self.state.counters
        optimizer, callbacks = self.state.optimizer, self.callbacks
        model.train()
        with Interrupt() as interrupt:
            if counters.step == 0 and not self.resumed:  # a checkpoint at step 0 follows its eval
                self.record_eval(tokens_per_s=None, train_loss=None)
                self.save_checkpoint()
            while not self.done():
                started = time.perf_counter()
                lr = self.current_lr()
                set_lr(optimizer, lr)
                inputs, targets, carried = self.next_batch()
                inputs, targets = to_device(inputs, self.device), to_device(targets, self.device)
                callbacks.call("before_step", counters.step)
                with autocast(self.device, self.dtype):
                    loss, shown, after = self.step_loss.loss(inputs, targets, carried)
                if after is not None:  # where the next window starts; its gradient stops here
                    self.state.carried = detach_state(after)
                value = shown.item()
                self.guard.observe(
                    counters.step, value, partial(kept_checkpoint, self.run_dir.state_path), c.lr
                )
                counters.initial_loss = self.guard.initial
                optimizer.zero_grad(set_to_none=True)
                (self.scaler.scale(loss) if self.scaler else loss).backward()
                if self.scaler:
                    self.scaler.unscale_(optimizer)  # so that clipping and the watch see true gradients
                callbacks.call("after_backward", counters.step, shown)
                if c.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                if self.scaler:
                    self.scaler.step(optimizer)
                    self.scaler.update()
                else:
                    optimizer.step()
                if self.state.average is not None:
                    self.state.average.update(model)
                callbacks.call("after_update", counters.step, lr)
                counters.step += 1
                elapsed = time.perf_counter() - started
                counters.train_seconds += elapsed
                counters.train_seconds, stop = self.step_loss.agree(
                    counters.train_seconds, interrupt.requested
                )
                self.window.seconds += elapsed
                self.window.tokens += int((targets != IGNORE).sum())
                self.window.losses.append(value)
                at_end = self.done()
                if counters.step % c.eval_every == 0 or at_end or stop:
                    train_loss = sum(self.window.losses) / len(self.window.losses)
                    self.record_eval(self.window.rate, train_loss, self.window.losses)
                    self.window = Window()
                    model.train()
                if counters.step % c.checkpoint_every == 0 or at_end or stop:
                    self.save_checkpoint()
                if stop:
                    raise Interrupted(
                        f"interrupted at step {counters.step}; checkpoint saved in {self.out}; "
                        "continue with --resume"
                    )

    def next_batch(self) -> tuple[Any, torch.Tensor, Any]:
        """The step's inputs and targets, and for a stateful run the state its rows start
        from: the state the previous window ended with, or the initial one at the start
        of each epoch."""
        train = self.batches["train"]
        if not self.stateful:
            inputs, targets = train.sample(self.config.batch_size, self.state.batch_generator)
            return inputs, targets, None
        step = self.state.counters.step
        inputs, targets = train.window(step)
        if train.starts_epoch(step) or self.state.carried is None:
            self.state.carried = self.model.init_state(self.step_loss.rows)
        return inputs, targets, self.state.carried

    def finish(self) -> dict:
        """Load the best weights and report val and test once."""
        if not self.dist.is_main:
            return {}
        counters = self.state.counters
        best = self.run_dir.weights_path("model")
        if best.exists():
            load_weights(self.model, best)
        else:  # no val split: the last weights (or their average) are the model
            self.model.load_tensors(self.eval_model.state_dict())
            io.save_tensors(best, self.model.state_dict(), {"step": counters.step})
        if self.config.calibrate_batchnorm and calibrate_batchnorm(self.model, self.batches["train"]):
            io.save_tensors(best, self.model.state_dict(), {"step": counters.step, "calibrated": True})
            self.log("BatchNorm statistics set from the whole training split")
        closing = {name: self.closing_eval(name) for name in ("val", "test")}
        result = {
            "step": counters.step,
            "train_seconds": round(counters.train_seconds, 3),
            "best_step": counters.best_step if counters.best_step >= 0 else counters.step,
            "val_nll": closing["val"] and closing["val"]["nll"],
            "test_nll": closing["test"] and closing["test"]["nll"],
        }
        estimated = {
            name: {"targets": found["tokens"], "of": found["of"], "stderr": found["stderr"]}
            for name, found in closing.items()
            if found is not None and not found["exact"]
        }
        if estimated:
            result["estimated"] = estimated
        self.info["model"]["parameters"] = self.model.num_parameters()  # count models: after fitting
        self.set_status("finished", **result)
        return result
