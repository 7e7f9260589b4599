"""The training loop: one loop for every family.

Each step draws a random batch, computes the token-weighted NLL and updates. Every
``eval_every`` steps the whole validation split is scored (the best weights so far go
to ``model.safetensors``), a few samples are written, and a checkpoint that can resume
bit-for-bit is saved. Count models (n-grams) skip the loop: one counting pass.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from charloom import io
from charloom.data.batches import Batches, encode_items, make_batches, text_block
from charloom.data.corpus import Corpus, load_corpus, parse_lines, read_text_file
from charloom.data.splits import Splits, split_items, split_text
from charloom.data.tokens import encode_text_file
from charloom.data.vocab import Vocab
from charloom.errors import CharloomError, TrainingDiverged
from charloom.generate.sampling import generate
from charloom.inspect.recorder import TrainingWatch
from charloom.models.base import CharModel
from charloom.models.context import check_fits
from charloom.models.likelihood import evaluate
from charloom.models.registry import build_model, make_config, model_class
from charloom.run import Run
from charloom.rundir import (
    DIAGNOSTICS_FILE,
    RunDir,
    default_out,
    model_from_info,
    new_run_info,
    read_run_json,
    split_path,
)
from charloom.train import checkpoint as ckpt
from charloom.train import distributed
from charloom.train.averaging import WeightAverage, check_decay
from charloom.train.optim import OPTIMIZERS, lr_at, make_optimizer

DEFAULT_STEPS = 3000
RESUMABLE = (
    "max_steps",
    "time_budget",
    "eval_every",
    "checkpoint_every",
    "num_samples",
    "threads",
    "diagnostics_every",
)


@dataclass
class TrainConfig:
    """How to train. ``None`` means: the family's default, else the global one."""

    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int | None = None
    optimizer: str = "adamw"
    lr: float | None = None
    weight_decay: float | None = None  # AdamW: the family's default, else 0.01
    warmup_steps: int = 100
    grad_clip: float | None = 1.0
    eval_every: int = 500
    checkpoint_every: int | None = None
    eval_max_targets: int | None = None
    num_samples: int = 5
    block_size: int | None = None
    seed: int = 1337
    threads: int | None = None
    diagnostics_every: int | None = None  # record training dynamics every N steps (charloom.inspect)
    ema: float | None = 0.0  # decay of a moving average of the weights, which is then the model (0: off)

    def __post_init__(self):
        positive = (
            "max_steps",
            "batch_size",
            "eval_every",
            "checkpoint_every",
            "block_size",
            "threads",
            "diagnostics_every",
        )
        for name in positive:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise CharloomError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise CharloomError(f"--time-budget must be above 0 seconds, got {self.time_budget}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise CharloomError(f"--lr must be a positive number, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise CharloomError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.num_samples < 0 or self.warmup_steps < 0 or (self.weight_decay or 0) < 0:
            raise CharloomError("--num-samples, --warmup-steps and --weight-decay must be >= 0")
        if self.ema is not None:
            check_decay(self.ema)


def resolved(config: TrainConfig, model: CharModel) -> TrainConfig:
    """Fill in what the user left open from the family's defaults, then the global ones."""
    values = asdict(config)
    family_defaults = model.train_defaults
    sgd = config.optimizer == "sgd"
    global_defaults = {"batch_size": 64, "lr": 0.1 if sgd else 3e-3, "weight_decay": 0.01}
    adamw_only = ("lr", "weight_decay")  # the families' own values were tuned with AdamW
    for name in ("batch_size", "lr", "weight_decay"):
        if values[name] is None:
            own = None if sgd and name in adamw_only else family_defaults.get(name)
            values[name] = global_defaults[name] if own is None else own
    if values["max_steps"] is None and values["time_budget"] is None:
        values["max_steps"] = family_defaults.get("max_steps", DEFAULT_STEPS)
    if values["checkpoint_every"] is None:
        values["checkpoint_every"] = values["eval_every"]
    return TrainConfig(**values)


class Interrupt:
    """Ctrl-C asks the loop to stop after the current step and save; a second one kills."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Interrupted(CharloomError):
    exit_code = 130


# -- preparing a run ---------------------------------------------------------------
def make_splits(
    corpus: Corpus, fractions, split_seed: int, dedup: bool, val_file: str | None, test_file: str | None
) -> Splits:
    if corpus.format == "text":
        return split_text(corpus.text or "", fractions)
    splits = split_items(corpus.items or [], fractions, seed=split_seed, dedup=dedup)
    for name, file in (("val", val_file), ("test", test_file)):
        if file is not None:
            given = parse_lines(read_text_file(file), file)
            setattr(splits, name, given)
            splits.notes.append(f"{name} from {file}")
    if val_file is not None or test_file is not None:
        # items of the given files go back into training only if not held out
        held = set(splits.val) | set(splits.test)
        splits.train = [item for item in (corpus.items or []) if item not in held]
        if dedup:
            splits.train = list(dict.fromkeys(splits.train))
    return splits


def given_splits(splits: Splits, corpus: Corpus) -> Splits:
    """Splits the caller made (someone else's benchmark split), used as they are: no
    de-duplication, and a note of how many held-out items also occur in training, since a
    model scores a seen item better and that flatters its val and test figures."""
    if corpus.format != "lines":
        raise CharloomError("given splits are lists of items: they need --format lines")
    if not splits.train:
        raise CharloomError("the given training split is empty")
    seen = set(splits.train)
    notes = [*splits.notes, "splits given by the caller"]
    for name in ("val", "test"):
        overlap = sum(item in seen for item in getattr(splits, name))
        if overlap:
            notes.append(f"{overlap:,} of {len(getattr(splits, name)):,} {name} items also occur in train")
    return Splits(list(splits.train), list(splits.val), list(splits.test), 0, notes)


def split_data(vocab: Vocab, fmt: str, parts: list[str]) -> Any:
    if fmt == "lines":
        return encode_items(parts, vocab)
    return torch.tensor(vocab.encode("".join(parts)), dtype=torch.long)


# -- the loop ------------------------------------------------------------------------
class Trainer:
    """Holds the model, optimiser and data of one run and trains it, writing to ``out``."""

    def __init__(
        self,
        out: Path,
        info: dict,
        model: CharModel,
        vocab: Vocab,
        config: TrainConfig,
        log: Callable[[str], None],
        progress: bool,
        dist: distributed.Context | None = None,
    ):
        self.out, self.info, self.model, self.vocab = out, info, model, vocab
        self.config, self.log, self.progress = config, log, progress
        self.dist = dist or distributed.Context()
        fmt = info["data"]["format"]
        self.format = fmt
        block = text_block(config.block_size, model.context_size)
        data = {name: self._split_tokens(name) for name in ("train", "val", "test")}
        self.batches: dict[str, Batches | None] = {}
        for name, encoded in data.items():
            empty = (len(encoded) == 0) if fmt == "lines" else (len(encoded) < 2)
            self.batches[name] = (
                None if empty else make_batches(model.training_layout, encoded, model.context_size, block)
            )
        if self.batches["train"] is None:
            raise CharloomError("the training split is empty; give more data")
        self.optimizer = (
            make_optimizer(model, config.optimizer, config.lr, config.weight_decay)
            if not model.fitted_by_counting
            else None
        )
        self.parallel = (
            distributed.DataParallel(self.dist, model, config.batch_size)
            if not model.fitted_by_counting
            else None
        )
        self.generator = torch.Generator()
        self.generator.manual_seed(config.seed + 1)
        self.step = 0
        self.resumed = False
        self.train_seconds = 0.0
        self.best_val = math.inf
        self.best_step = -1
        self.watch: TrainingWatch | None = None
        # With --ema the average is what gets evaluated, sampled and saved as the model;
        # the raw weights go on training (and into last.safetensors).
        self.average = (
            WeightAverage(model, config.ema) if config.ema and not model.fitted_by_counting else None
        )

    @property
    def eval_model(self) -> CharModel:
        return self.average.model if self.average is not None else self.model

    def _split_tokens(self, name: str) -> Any:
        """Line mode: the encoded items. Text mode: a memory-mapped token file next to the
        split, so that a large corpus never sits in memory as int64 (data/tokens.py)."""
        path = split_path(self.out, name)
        if self.format == "text" and path.exists():
            return encode_text_file(path, self.vocab, path.with_suffix(".tokens"))
        return split_data(self.vocab, self.format, self._read_split(name))

    def _read_split(self, name: str) -> list[str]:
        text = read_text_file(split_path(self.out, name)) if split_path(self.out, name).exists() else ""
        if self.format == "lines":
            return [line for line in text.splitlines() if line]
        return [text]

    # progress in [0, 1] from steps or time, whichever is further along
    def progress_fraction(self) -> float:
        c = self.config
        parts = []
        if c.max_steps:
            parts.append(self.step / c.max_steps)
        if c.time_budget:
            parts.append(self.train_seconds / c.time_budget)
        return max(parts)

    def done(self) -> bool:
        c = self.config
        return (c.max_steps is not None and self.step >= c.max_steps) or (
            c.time_budget is not None and self.train_seconds >= c.time_budget
        )

    # -- evaluation, samples, checkpoints -------------------------------------------
    def eval_split(self, name: str, limit: int | None = None) -> float | None:
        batches = self.batches[name]
        if batches is None:
            return None
        return evaluate(self.eval_model, batches, max_targets=limit)["nll"]

    def take_samples(self) -> list[str]:
        if self.config.num_samples == 0:
            return []
        generator = torch.Generator()
        generator.manual_seed(self.config.seed * 100003 + self.step)
        prefix = "" if self.format == "lines" else self._text_prompt()
        count = self.config.num_samples if self.format == "lines" else 1
        max_new = 50 if self.format == "lines" else 200
        samples = generate(
            self.eval_model, self.vocab, count, prefix=prefix, max_new_tokens=max_new, generator=generator
        )
        return [s.text for s in samples]

    def _text_prompt(self) -> str:
        return "\n" if "\n" in self.vocab else self.vocab.chars[0]

    def record_eval(self, tokens_per_s: float | None, train_loss: float | None) -> dict:
        if not self.dist.is_main:  # only rank 0 evaluates and writes
            return {}
        limit = self.config.eval_max_targets or (None if self.format == "lines" else 100_000)
        val = self.eval_split("val", limit)
        entry = {
            "step": self.step,
            "train_loss": train_loss,
            "val_loss": val,
            "lr": self.current_lr(),
            "tokens_per_s": tokens_per_s,
            "train_seconds": round(self.train_seconds, 3),
        }
        io.append_text(self.out / "metrics.jsonl", json.dumps(entry) + "\n")
        if self.watch is not None:
            self.watch.on_eval(entry)
        if val is not None and val < self.best_val:
            self.best_val, self.best_step = val, self.step
            io.save_tensors(
                self.out / "model.safetensors",
                self.eval_model.state_dict(),
                {"step": self.step, "val_loss": val},
            )
        samples = self.take_samples()
        if samples:
            io.append_text(
                self.out / "samples.txt",
                "".join(f"{self.step}\t{json.dumps(text)[1:-1]}\n" for text in samples),
            )
        return {**entry, "samples": samples}

    def current_lr(self) -> float:
        c = self.config
        return lr_at(c.optimizer, c.lr, self.progress_fraction(), self.step, c.warmup_steps)

    def save_checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        weights = self.model.state_dict()
        io.save_tensors(self.out / "last.safetensors", weights, {"step": self.step})
        tensors = {f"model.{k}": v for k, v in weights.items()}
        meta: dict[str, Any] = {
            "step": self.step,
            "train_seconds": self.train_seconds,
            "best_val": None if math.isinf(self.best_val) else self.best_val,
            "best_step": self.best_step,
        }
        if self.optimizer is not None:
            opt_tensors, opt_meta = ckpt.flatten_optimizer(self.optimizer.state_dict())
            tensors.update({f"optim.{k}": v for k, v in opt_tensors.items()})
            meta["optimizer"] = opt_meta
        if self.average is not None:
            tensors.update({f"average.{k}": v for k, v in self.average.state_dict().items()})
            meta["average_updates"] = self.average.updates
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.batches"] = self.generator.get_state()
        if self.watch is not None:
            self.watch.flush()
        meta["file_sizes"] = {
            name: _size(self.out / name) for name in ("metrics.jsonl", "samples.txt", DIAGNOSTICS_FILE)
        }
        io.save_tensors(self.out / "state.safetensors", tensors, meta)
        self.set_status("training", step=self.step)

    def load_checkpoint(self) -> None:
        path = self.out / "state.safetensors"
        if not path.exists():
            raise CharloomError(f"{self.out} has no checkpoint to resume from; start over with --force")
        tensors, meta = io.load_tensors(path)
        self.model.load_tensors({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        if self.optimizer is not None and "optimizer" in meta:
            opt = {k[6:]: v for k, v in tensors.items() if k.startswith("optim.")}
            self.optimizer.load_state_dict(ckpt.unflatten_optimizer(opt, meta["optimizer"]))
        if self.average is not None:
            self.average.load(
                {k[8:]: v for k, v in tensors.items() if k.startswith("average.")},
                int(meta["average_updates"]),
            )
        torch.set_rng_state(tensors["rng.torch"])
        self.generator.set_state(tensors["rng.batches"])
        self.step = int(meta["step"])
        self.resumed = True
        self.train_seconds = float(meta["train_seconds"])
        self.best_val = math.inf if meta["best_val"] is None else float(meta["best_val"])
        self.best_step = int(meta["best_step"])
        # Lines written after the checkpoint belong to work that is now redone.
        for name, size in meta.get("file_sizes", {}).items() if self.dist.is_main else ():
            _truncate(self.out / name, size)
        if self.dist.is_main:
            io.remove_stale_temps(self.out)

    def set_status(self, state: str, **extra: Any) -> None:
        self.info["status"] = {**self.info.get("status", {}), "state": state, **extra}
        if not self.dist.is_main:
            return
        io.atomic_write_json(self.out / "run.json", self.info)

    # -- fitting ------------------------------------------------------------------------
    def fit_counts(self) -> None:
        start = time.perf_counter()
        windows, targets = zip(*self.batches["train"].chunks(65536), strict=True)
        self.model.fit(torch.cat(windows), torch.cat(targets))
        self.train_seconds = time.perf_counter() - start
        self.log(f"fitted {self.model.family} by counting in {self.train_seconds:.2f}s")
        self.record_eval(tokens_per_s=None, train_loss=None)
        self.save_checkpoint()

    def train_loop(self) -> None:
        c = self.config
        model, optimizer = self.model, self.optimizer
        model.train()
        bar = tqdm(
            total=c.max_steps,
            initial=self.step,
            disable=not self.progress,
            unit="step",
            dynamic_ncols=True,
            leave=False,
        )
        window_tokens, window_seconds, running = 0, 0.0, []
        say = bar.write if self.progress else self.log
        self.watch = TrainingWatch(self.out, model, c.diagnostics_every, say, c.warmup_steps, c.lr, self.step)
        with Interrupt() as interrupt, self.watch:
            if self.step == 0 and not self.resumed:  # a checkpoint at step 0 follows its eval
                entry = self.record_eval(tokens_per_s=None, train_loss=None)
                self._report(entry, bar)
                self.save_checkpoint()
            while not self.done():
                started = time.perf_counter()
                lr = self.current_lr()
                for group in optimizer.param_groups:
                    group["lr"] = lr
                inputs, targets = self.batches["train"].sample(c.batch_size, self.generator)
                self.watch.before_step(self.step)
                loss, shown = self.parallel.loss(inputs, targets)
                if not torch.isfinite(shown):
                    raise TrainingDiverged(
                        f"the loss became {shown.item()} at step {self.step + 1}; the last checkpoint "
                        f"(step {self._last_checkpoint_step()}) is kept; lower --lr (now {c.lr:g})"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.watch.after_backward(self.step, shown)
                if c.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                optimizer.step()
                if self.average is not None:
                    self.average.update(model)
                self.watch.after_update(self.step, lr)
                self.step += 1
                elapsed = time.perf_counter() - started
                self.train_seconds += elapsed
                window_seconds += elapsed
                self.train_seconds, stop = self.parallel.agree(self.train_seconds, interrupt.requested)
                window_tokens += int((targets != -1).sum())
                running.append(shown.item())
                bar.update(1)
                if self.step % 20 == 0:
                    bar.set_postfix(
                        loss=f"{sum(running[-20:]) / len(running[-20:]):.4f}",
                        tok_s=f"{window_tokens / max(window_seconds, 1e-9):,.0f}",
                    )
                at_end = self.done()
                if self.step % c.eval_every == 0 or at_end or stop:
                    train_loss = sum(running) / len(running)
                    entry = self.record_eval(window_tokens / max(window_seconds, 1e-9), train_loss)
                    self._report(entry, bar)
                    window_tokens, window_seconds, running = 0, 0.0, []
                    model.train()
                if self.step % c.checkpoint_every == 0 or at_end or stop:
                    self.save_checkpoint()
                if stop:
                    bar.close()
                    raise Interrupted(
                        f"interrupted at step {self.step}; checkpoint saved in {self.out}; "
                        "continue with --resume"
                    )
        bar.close()

    def _last_checkpoint_step(self) -> int:
        try:
            return int(io.load_tensors(self.out / "state.safetensors")[1]["step"])
        except CharloomError:
            return 0

    def _report(self, entry: dict, bar) -> None:
        if not entry:
            return

        def fmt(value):
            return "-" if value is None else f"{value:.4f}"

        speed = entry["tokens_per_s"]
        line = f"step {entry['step']:>6}  train {fmt(entry['train_loss'])}  val {fmt(entry['val_loss'])}" + (
            f"  {speed:,.0f} tok/s" if speed else ""
        )
        samples = (
            "  ".join(entry["samples"])
            if self.format == "lines"
            else " | ".join(s.replace("\n", " ") for s in entry["samples"])
        )
        text = line + (f"\n    {samples[:160]}" if samples else "")
        if self.progress:
            bar.write(text)
        else:
            self.log(text)

    def finish(self) -> dict:
        """Load the best weights and report val and test once."""
        if not self.dist.is_main:
            return {}
        best = self.out / "model.safetensors"
        if best.exists():
            self.model.load_tensors(io.load_tensors(best)[0])
        else:  # no val split: the last weights (or their average) are the model
            self.model.load_tensors(self.eval_model.state_dict())
            io.save_tensors(best, self.model.state_dict(), {"step": self.step})
        result = {
            "step": self.step,
            "train_seconds": round(self.train_seconds, 3),
            "best_step": self.best_step if self.best_step >= 0 else self.step,
            "val_nll": self.eval_split("val"),
            "test_nll": self.eval_split("test"),
        }
        self.info["model"]["parameters"] = self.model.num_parameters()  # count models: after fitting
        self.set_status("finished", **result)
        return result


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _truncate(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as handle:
            handle.truncate(size)


# -- the public entry point ----------------------------------------------------------------
def train(
    data: str | Path | None = "names",
    model: str = "mlp",
    *,
    out: str | Path | None = None,
    model_options: dict[str, Any] | None = None,
    format: str = "lines",
    val_file: str | None = None,
    test_file: str | None = None,
    split_seed: int = 42,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    dedup: bool = True,
    alphabet: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = print,
    splits: Splits | None = None,
    **train_options: Any,
) -> Run:
    """Train a model and return the finished run. ``alphabet`` names characters the
    vocabulary holds even where the data lacks them (a run group gives every category's
    generator the union of all their alphabets, so each can read every other's seeds).
    ``splits`` replaces charloom's own split of ``data`` with the caller's (line mode), e.g.
    another tool's, to compare on its terms.

    >>> run = train("names", "mlp", max_steps=2000, out="runs/demo")  # doctest: +SKIP
    >>> run.evaluate("test")["nll"]                                   # doctest: +SKIP
    """
    ctx = distributed.setup()
    if not ctx.is_main:  # rank 0 speaks for the run
        log, progress = (lambda message: None), False
    try:
        if resume:
            if out is None:
                raise CharloomError("--resume needs the run folder: --out DIR")
            return _resume(Path(out), train_options, progress, log, ctx)
        return _train_new(
            data,
            model,
            out,
            model_options,
            format,
            val_file,
            test_file,
            split_seed,
            split_fractions,
            dedup,
            force,
            progress,
            log,
            ctx,
            train_options,
            alphabet,
            splits,
        )
    finally:
        distributed.teardown(ctx)


def _train_new(
    data,
    model,
    out,
    model_options,
    format,
    val_file,
    test_file,
    split_seed,
    split_fractions,
    dedup,
    force,
    progress,
    log,
    ctx,
    train_options,
    alphabet=None,
    given=None,
) -> Run:
    config = TrainConfig(**train_options)
    model_class(model)  # a clear error for an unknown family before any work
    model_config = make_config(model, model_options)
    corpus = load_corpus(data if data is not None else "names", format)
    splits = (
        given_splits(given, corpus)
        if given is not None
        else make_splits(corpus, split_fractions, split_seed, dedup, val_file, test_file)
    )
    vocab = Vocab.from_texts(
        [*splits.train, *splits.val, *splits.test, alphabet or ""], boundary=(format == "lines")
    )
    torch.manual_seed(config.seed)
    net = build_model(model, model_config, vocab.size)
    if format == "lines":  # before anything is written
        longest = max(splits.train + splits.val + splits.test, key=len)
        check_fits(net, len(longest), f"the longest item ({longest[:20]!r}...)", True)
    out_path = Path(
        distributed.on_main(ctx, lambda: str(Path(out) if out is not None else default_out(model, str(data))))
    )
    distributed.on_main(ctx, lambda: RunDir(out_path).prepare(force=force))
    config = resolved(config, net)
    data_info = {
        "source": corpus.source,
        "format": corpus.format,
        "fingerprint": corpus.fingerprint,
        "splits": splits.sizes(),
        "duplicates_dropped": splits.duplicates_dropped,
        "split_seed": split_seed,
        "fractions": list(split_fractions),
        "dedup": dedup,
        "notes": splits.notes,
    }
    info = new_run_info(
        out_path.name, model, model_config, net.num_parameters(), asdict(config), data_info, vocab
    )

    def write_run() -> None:
        RunDir(out_path).write_splits(splits, corpus.format)
        io.atomic_write_json(out_path / "run.json", info)

    distributed.on_main(ctx, write_run)
    sizes = ", ".join(f"{k} {v:,}" for k, v in splits.sizes().items())
    dropped = f" ({splits.duplicates_dropped:,} duplicates dropped)" if splits.duplicates_dropped else ""
    log(f"{model}: {net.num_parameters():,} parameters, vocab {vocab.size}; splits {sizes}{dropped}")
    log(f"writing run to {out_path}")
    return _run_trainer(Trainer(out_path, info, net, vocab, config, log, progress, ctx))


def _resume(
    out: Path, overrides: dict[str, Any], progress: bool, log, ctx: distributed.Context | None = None
) -> Run:
    RunDir(out).check_resumable()
    info = read_run_json(out)
    unknown = sorted(k for k, v in overrides.items() if v is not None and k not in RESUMABLE)
    saved = info["train"]
    for name in unknown:
        if overrides[name] != saved.get(name):
            raise CharloomError(
                f"--{name.replace('_', '-')} cannot change when resuming; "
                f"options that can: {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)}"
            )
    values = {**saved, **{k: v for k, v in overrides.items() if v is not None and k in RESUMABLE}}
    config = TrainConfig(**{f.name: values.get(f.name) for f in fields(TrainConfig)})
    model, vocab = model_from_info(info)
    trainer = Trainer(out, info, model, vocab, config, log, progress, ctx)
    trainer.load_checkpoint()
    info["train"] = asdict(config)
    log(f"resuming {out} at step {trainer.step}")
    return _run_trainer(trainer)


def _run_trainer(trainer: Trainer) -> Run:
    # --threads, else torch's own count (a thread per core, or OMP_NUM_THREADS). On an idle
    # 2-core machine two threads train every family's default 1.26-1.68x faster than one
    # (bench/threads.py); on a machine busy with other work, --threads 1 avoids contention.
    if trainer.config.threads:
        torch.set_num_threads(trainer.config.threads)
    trainer.set_status("training", step=trainer.step)
    if trainer.model.fitted_by_counting:
        trainer.fit_counts()
    else:
        trainer.train_loop()
    result = trainer.finish()
    distributed.barrier(trainer.dist)  # the others wait for rank 0's final files
    if not result:
        return Run(trainer.out)
    val, test = result["val_nll"], result["test_nll"]
    trainer.log(
        f"done: step {result['step']}, {result['train_seconds']:.1f}s training; best val "
        f"{'-' if val is None else f'{val:.4f}'} (step {result['best_step']}), test "
        f"{'-' if test is None else f'{test:.4f}'}"
    )
    return Run(trainer.out)


__all__ = ["TrainConfig", "Trainer", "train"]
