"""How to train: the ``train`` section of run.json.

Each field says in its metadata what it means, its bounds and whether ``--resume`` may
change it; the command line's flags are generated from it. ``None`` means: the family's
default (``CharModel.train_defaults``), else the global one, filled in by ``resolved``
once the model is known.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from charloom.device import PRECISIONS
from charloom.errors import CharloomError
from charloom.models.base import CharModel
from charloom.options import SEED_LIMIT, check_options, check_types, option
from charloom.train.optim import OPTIMIZERS, SCHEDULES

DEFAULT_STEPS = 3000
FINE_TUNE_LR_SCALE = 0.3  # of the peak rate a new run would take; measured by bench/finetune.py
DIAGNOSTICS_EVERY = 50  # steps between recorded steps of a bare --diagnostics


@dataclass
class TrainConfig:
    """How to train. ``None`` means: the family's default, else the global one."""

    max_steps: int | None = option(
        None,
        help="optimisation steps (default 3000 unless --time-budget or --epochs)",
        minimum=1,
        resumable=True,
    )
    epochs: int | None = option(
        None,
        help="passes over the training split (steps that read as many targets as it holds; "
        "a stateful run reads every position once per epoch)",
        minimum=1,
        resumable=True,
    )
    time_budget: float | None = option(
        None,
        help="stop after this much training time",
        above=0,
        unit=" seconds",
        metavar="SECONDS",
        resumable=True,
    )
    batch_size: int | None = option(None, help="examples per step (family default, else 64)", minimum=1)
    optimizer: str | None = option(
        None,
        help="adamw (the default), muon (Muon for the hidden matrices, AdamW for the rest; the "
        "transformer's default on running text) or sgd with step decay",
        choices=OPTIMIZERS,
    )
    lr: float | None = option(None, help="peak learning rate (family default; AdamW's under muon)", above=0)
    muon_lr: float | None = option(
        None, help="with --optimizer muon: Muon's peak rate for the hidden matrices (default 0.05)", above=0
    )
    weight_decay: float | None = option(
        None, help="AdamW weight decay on matrices (default: the family's, else 0.01)", minimum=0
    )
    warmup_steps: int = option(100, help="linear warm-up steps for AdamW (default 100)", minimum=0)
    schedule: str | None = option(
        None,
        help="the rate after warm-up: cosine down to a tenth of the peak, or wsd: held at the peak, then a "
        "straight line down to zero over the last --cooldown of training; wsd-sqrt: the same, down "
        "along 1 - sqrt (default: wsd under muon, else cosine)",
        choices=SCHEDULES,
    )
    cooldown: float = option(
        0.4,
        help="with --schedule wsd or wsd-sqrt: the last part of training that decays (default 0.4)",
        above=0,
        maximum=1,
    )
    lr_schedule: str | None = option(
        None,
        help="a step schedule instead of the optimizer's own: STEP:LR pairs, e.g. 0:0.1,100000:0.01 "
        "(the rate of the last pair reached holds)",
        metavar="STEP:LR,...",
    )
    grad_clip: float | None = option(1.0, help="clip the gradient norm (default 1.0; 0 = off)", minimum=0)
    eval_every: int = option(
        500, help="evaluate on val every N steps (default 500)", minimum=1, resumable=True
    )
    checkpoint_every: int | None = option(
        None, help="checkpoint every N steps (default: --eval-every)", minimum=1, resumable=True
    )
    eval_max_targets: int | None = option(None, help="cap on val targets per periodic eval", minimum=1)
    num_samples: int = option(5, help="samples printed at each eval (default 5)", minimum=0, resumable=True)
    block_size: int | None = option(
        None, help="characters per training window of running text (window and recurrent models)", minimum=1
    )
    stateful: bool | None = option(
        None,
        help="rnn/gru/lstm on running text: each batch row reads its own stretch of the text in order, "
        "the hidden state carried from window to window and reset each epoch, as char-rnn trains "
        "(default on text; --no-stateful: random windows from a zero state)",
    )
    seed: int = option(
        1337, help="seed for initialisation and batches (default 1337)", minimum=0, below=SEED_LIMIT
    )
    threads: int | None = option(
        None, help="torch threads (default: one per core)", minimum=1, resumable=True
    )
    diagnostics_every: int | None = option(
        None,
        help="record activations, gradients and update ratios every EVERY steps "
        f"(default {DIAGNOSTICS_EVERY}) into diagnostics.jsonl and print the checks; render with "
        "`charloom diagnose RUN`",
        minimum=1,
        flag="--diagnostics",
        metavar="EVERY",
        const=DIAGNOSTICS_EVERY,
        resumable=True,
    )
    calibrate_batchnorm: bool = option(
        False,
        help="after training, set BatchNorm's statistics from one pass over the whole training set "
        "(the lectures' calibration) instead of the running averages",
    )
    device: str = option(
        "auto",
        help="where to train: auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N, mps",
        resumable=True,
    )
    dtype: str | None = option(
        None,
        help="compute precision: float32 (default, exact), bfloat16 or float16 (CUDA, with loss scaling) "
        "under autocast, or auto (bfloat16 where the hardware multiplies it natively, else float32; "
        "the transformer's default on running text)",
        choices=PRECISIONS,
        resumable=True,
    )
    compile: bool = option(
        False, help="torch.compile the training step (pays on a GPU; on the CPU it did not)", resumable=True
    )
    saturation: float = option(
        0.97,
        help="with --diagnostics: |tanh| above this counts as saturated (default 0.97; the lectures "
        "use 0.99 too)",
        above=0,
        below=1,
        resumable=True,
    )
    ema: float | None = option(
        0.0,
        help="evaluate, sample and save a moving average of the weights with this decay "
        "(e.g. 0.999; default 0: off)",
        minimum=0,
        below=1,
        metavar="DECAY",
    )

    def __post_init__(self):
        check_options(self)
        if self.lr_schedule is not None:
            parse_schedule(self.lr_schedule)

    @classmethod
    def resumable(cls) -> tuple[str, ...]:
        """The options ``--resume`` may change (how long and how watched, not what)."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("resumable"))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """From run.json's train section; keys this version does not know are dropped."""
        known = {f.name: values[f.name] for f in fields(cls) if f.name in values}
        check_types(cls, known, "run.json's train section")
        return cls(**known)


@functools.cache
def parse_schedule(text: str) -> tuple[tuple[int, float], ...]:
    """'0:0.1,100000:0.01' -> [(0, 0.1), (100000, 0.01)]: steps rising from 0, rates above 0."""
    try:
        pairs = [(int(step), float(rate)) for step, rate in (part.split(":") for part in text.split(","))]
    except ValueError:
        raise CharloomError(
            f"--lr-schedule takes STEP:LR pairs joined by commas (0:0.1,100000:0.01); got {text!r}"
        ) from None
    steps = [step for step, _ in pairs]
    if not pairs or steps[0] != 0 or steps != sorted(set(steps)):
        raise CharloomError(f"--lr-schedule must start at step 0 with steps rising, got {text!r}")
    if not all(rate > 0 and math.isfinite(rate) for _, rate in pairs):
        raise CharloomError(f"--lr-schedule rates must be above 0, got {text!r}")
    return tuple(pairs)


def resolved(
    config: TrainConfig, model: CharModel, fmt: str = "lines", fine_tuning: bool = False
) -> TrainConfig:
    """Fill in what the user left open from the family's defaults (for running text, its
    text defaults first), then the global ones. A run that starts from trained weights
    (``fine_tuning``) takes ``FINE_TUNE_LR_SCALE`` of the peak rates it leaves open."""
    values = asdict(config)
    family_defaults = dict(model.train_defaults)
    if fmt == "text":
        family_defaults.update(model.text_defaults.get("train", {}))
    can_carry = model.carries_state and fmt == "text"
    if values["stateful"] and not can_carry:
        raise CharloomError("--stateful needs a recurrent family (rnn, gru, lstm) and --format text")
    if values["stateful"] is None:
        values["stateful"] = can_carry
    if values["optimizer"] is None:
        values["optimizer"] = family_defaults.get("optimizer", "adamw")
    sgd = values["optimizer"] == "sgd"
    global_defaults = {
        "batch_size": 64,
        "lr": 0.1 if sgd else 3e-3,
        "muon_lr": 0.05 if values["optimizer"] == "muon" else None,
        "weight_decay": 0.01,
        "dtype": "float32",
        "schedule": "wsd" if values["optimizer"] == "muon" else "cosine",
    }
    adamw_only = ("lr", "weight_decay")  # the families' own values were tuned with AdamW
    if values["lr_schedule"] is not None and values["lr"] is None:
        values["lr"] = parse_schedule(values["lr_schedule"])[0][1]  # the peak shown and logged
    left_open = {name for name in global_defaults if values[name] is None}
    for name in left_open:
        own = None if sgd and name in adamw_only else family_defaults.get(name)
        values[name] = global_defaults[name] if own is None else own
    if fine_tuning:  # the weights are already near a minimum: smaller steps keep what they learned
        for name in {"lr", "muon_lr"} & left_open:
            if values[name] is not None:
                values[name] *= FINE_TUNE_LR_SCALE
    if values["max_steps"] is None and values["time_budget"] is None and values["epochs"] is None:
        values["max_steps"] = family_defaults.get("max_steps", DEFAULT_STEPS)
    if values["checkpoint_every"] is None:
        values["checkpoint_every"] = values["eval_every"]
    return TrainConfig(**values)
