"""Start a run or resume one: the three sections of run.json in, a finished run folder out.

``start(data, family, model_config, config)`` reads and splits the data, builds the
model, writes the run folder and trains; ``resume(out, overrides)`` continues a run from
its last checkpoint, bit-for-bit. Under ``torchrun`` every process calls the same
function and rank 0 writes. What watches the training is passed in as callbacks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from charloom.data.config import DataConfig
from charloom.device import cpu_bfloat16_speedup, resolve_device, resolve_dtype
from charloom.errors import CharloomError
from charloom.models.context import check_fits
from charloom.models.registry import build_model, make_config, model_class
from charloom.models.saved import model_from_info
from charloom.rundir import RunDir, default_out, new_run_info
from charloom.train import distributed
from charloom.train.config import TrainConfig, resolved
from charloom.train.init_from import inherited_options, read_parent, start_from_parent
from charloom.train.loop import Trainer

Log = Callable[[str], None]


def start(
    data: DataConfig,
    family: str,
    model_options: dict[str, Any] | Any | None,
    config: TrainConfig,
    *,
    out: str | Path | None = None,
    force: bool = False,
    callbacks: Iterable[Any] = (),
    log: Log = print,
    init_from: str | Path | None = None,
) -> RunDir:
    """Train a new run; returns its folder. ``model_options`` is a dict of the family's
    options or its config dataclass. ``init_from`` names a run to start from: its model
    config and best weights, its vocabulary grown by the new data's characters
    (``train/init_from.py``)."""
    # a device that is not here, or a precision it cannot run: before any work
    resolve_dtype(config.dtype or "float32", resolve_device(config.device))
    with distributed.session(config.device) as ctx, contextlib.ExitStack() as held:
        model_class(family)  # a clear error for an unknown family before any work
        parent = None if init_from is None else read_parent(init_from, family, data.format)
        if parent is not None:
            model_options = inherited_options(parent, model_options)
        model_config = make_config(family, model_options, data.format)
        corpus = data.load(stream=True)
        splits = data.make_splits(corpus)
        vocab = data.vocabulary(corpus, splits, "".join(parent.vocab.chars) if parent is not None else "")
        torch.manual_seed(config.seed)
        model = build_model(family, model_config, vocab.size, purpose="train")
        if parent is not None:
            new_chars = start_from_parent(model, vocab, parent, model_options)
        # a refused combination: before anything is written
        config = resolved(config, model, data.format, fine_tuning=parent is not None)
        if data.format == "lines":  # before anything is written
            longest = max([*splits.train, *splits.val, *splits.test], key=len)
            check_fits(model, len(longest), f"the longest item ({longest[:20]!r}...)", True)
        chosen = Path(out) if out is not None else None
        run_dir = RunDir(
            distributed.on_main(ctx, lambda: str(chosen or default_out(family, str(data.source))))
        )
        distributed.on_main(ctx, lambda: run_dir.check_new(force))  # before anything is written
        distributed.on_main(ctx, lambda: _hold(held, run_dir))
        distributed.on_main(ctx, lambda: run_dir.prepare(force=force))
        parameters = model.num_parameters()
        info = new_run_info(
            run_dir.path.name,
            family,
            model_config,
            parameters,
            asdict(config),
            data.to_json(corpus, splits),
            vocab,
        )
        if parent is not None:
            info["init_from"] = parent.record()

        def write_run() -> None:
            run_dir.write_splits(splits, corpus.format)
            run_dir.write_info(info)

        distributed.on_main(ctx, write_run)
        sizes = ", ".join(f"{k} {v:,}" for k, v in splits.sizes().items())
        dropped = f" ({splits.duplicates_dropped:,} duplicates dropped)" if splits.duplicates_dropped else ""
        log(f"{family}: {parameters:,} parameters, vocab {vocab.size}; splits {sizes}{dropped}")
        if parent is not None:
            added = (
                f"; characters it never saw, added as new rows: {''.join(new_chars)!r}" if new_chars else ""
            )
            log(f"starting from {parent.run_dir.path} (its best weights, peak rate {config.lr:g}){added}")
        log(f"writing run to {run_dir.path}")
        _train(Trainer(run_dir, info, model, vocab, config, callbacks, log, ctx))
    return run_dir


def resume(
    out: str | Path, overrides: dict[str, Any], *, callbacks: Iterable[Any] = (), log: Log = print
) -> RunDir:
    """Continue the run in ``out`` from its last checkpoint. Only the options that say how
    long and how watched (``TrainConfig.resumable()``) may change; any other given with a
    different value is refused."""
    run_dir = RunDir(out)
    device = overrides.get("device") or "auto"
    resolve_dtype(overrides.get("dtype") or "float32", resolve_device(device))
    with distributed.session(device) as ctx, contextlib.ExitStack() as held:
        run_dir.check_resumable()
        distributed.on_main(ctx, lambda: _hold(held, run_dir))
        info = run_dir.read_info()
        saved, resumable = info["train"], TrainConfig.resumable()
        for name, value in sorted(overrides.items()):
            if value is not None and name not in resumable and value != saved.get(name):
                flags = ", ".join("--" + k.replace("_", "-") for k in resumable)
                raise CharloomError(
                    f"--{name.replace('_', '-')} cannot change when resuming; options that can: {flags}"
                )
        changed = {k: v for k, v in overrides.items() if v is not None and k in resumable}
        config = TrainConfig.from_dict({**saved, **changed})
        model, vocab = model_from_info(info)
        trainer = Trainer(run_dir, info, model, vocab, config, callbacks, log, ctx)
        trainer.load_checkpoint()
        info["train"] = asdict(config)
        log(f"resuming {run_dir.path} at step {trainer.step}")
        _train(trainer)
    return run_dir


def _hold(held: contextlib.ExitStack, run_dir: RunDir) -> None:
    """Claim the run folder until ``held`` closes (rank 0 only: it is the one that writes)."""
    held.enter_context(run_dir.claim())


def _train(trainer: Trainer) -> None:
    # --threads, else torch's own count (a thread per core, or OMP_NUM_THREADS); see
    # docs/tuning.md for when one thread is the better choice.
    if trainer.config.threads:
        torch.set_num_threads(trainer.config.threads)
    if trainer.dtype != torch.float32 and not trainer.model.fitted_by_counting:
        precision = str(trainer.dtype).removeprefix("torch.")
        chosen = f"--dtype {trainer.config.dtype}"
        if trainer.config.dtype == "auto" and trainer.device.type == "cpu":
            chosen += f": its products run {cpu_bfloat16_speedup():.1f}x as fast as float32's here"
        trainer.log(f"training under {precision} autocast ({chosen}); evaluation in float32")
    result = trainer.run()
    distributed.barrier(trainer.dist)  # the others wait for rank 0's final files
    if result:
        shown = {name: _figure(result, name) for name in ("val", "test")}
        trainer.log(
            f"done: step {result['step']}, {result['train_seconds']:.1f}s training; best val "
            f"{shown['val']} (step {result['best_step']}), test {shown['test']}"
        )
        if result.get("estimated"):
            trainer.log(
                "  (~: estimated over the first characters of a long split; `charloom eval` reads it all)"
            )


def _figure(result: dict, name: str) -> str:
    value, estimate = result[f"{name}_nll"], result.get("estimated", {}).get(name)
    if value is None:
        return "-"
    if estimate is None:
        return f"{value:.4f}"
    return (
        f"~{value:.4f} ± {estimate['stderr']:.4f} ({estimate['targets']:,} of {estimate['of']:,} characters)"
    )
