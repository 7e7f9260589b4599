"""``charloom lr-find``: the lectures' learning-rate sweep, as a table, a plot and a rate."""

from __future__ import annotations

import argparse

from charloom.cli.app import command, emit_json
from charloom.cli.options import add_config_flags, add_model_flags, given, model_options
from charloom.cli.train import SHARED, training_options
from charloom.data.config import DataConfig
from charloom.models.registry import DEFAULT_FAMILY
from charloom.train.config import TrainConfig

SWEPT = ("optimizer", "batch_size", "weight_decay", "muon_lr", "grad_clip", "seed", "device", "dtype")


def _add_lr_find(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="a text file or a dataset's name")
    p.add_argument("--model", help="model family (default mlp, transformer for --format text)")
    add_config_flags(p, DataConfig)
    p.add_argument("--start", type=float, default=1e-3, help="the first rate (default 1e-3)")
    p.add_argument("--end", type=float, default=1.0, help="the last rate (default 1)")
    p.add_argument("--steps", type=int, default=1000, help="rates between them, one step each (default 1000)")
    p.add_argument("--plot", metavar="PNG", help="write loss against rate here")
    p.add_argument("--json", action="store_true", help="the sweep as JSON")
    add_config_flags(p, TrainConfig, title="training", skip=tuple(f for f in TrainConfig.__dataclass_fields__
                                                                   if f not in SWEPT))  # fmt: skip
    add_model_flags(p, also=SHARED)


@command("lr-find", "sweep the learning rate exponentially, one step each, and suggest one", _add_lr_find)
def cmd_lr_find(args: argparse.Namespace) -> int:
    from charloom.errors import CharloomError
    from charloom.train.lr_find import lr_find

    if not 0 < args.start < args.end:
        raise CharloomError(f"--start must be above 0 and below --end, got {args.start:g} and {args.end:g}")
    if args.steps < 3:
        raise CharloomError(f"--steps must be at least 3, got {args.steps}")
    data = DataConfig(source=args.data, **given(args, DataConfig))
    family = args.model or DEFAULT_FAMILY[data.format]
    config = TrainConfig(**training_options(args, family))
    sweep = lr_find(data, family, model_options(args, family, also=SHARED), config,
                    args.start, args.end, args.steps)  # fmt: skip
    result = sweep.to_json()
    if args.plot:
        from charloom.inspect.diagnostics.sweep_plot import plot_lr_sweep

        result["plot"] = str(plot_lr_sweep(result, args.plot))
    if args.json:
        emit_json(result)
        return 0
    print(f"{'rate':>10}  {'loss':>8}  {'smoothed':>8}")
    shown = max(1, len(sweep.losses) // 20)
    for i in range(0, len(sweep.losses), shown):
        print(f"{sweep.rates[i]:>10.3g}  {sweep.losses[i]:>8.4f}  {sweep.smoothed[i]:>8.4f}")
    if sweep.suggestion is None:
        print("\nthe loss never fell across these rates: start lower (--start)")
    else:
        where = f"{family}, {sweep.optimizer}"
        print(f"\nsuggested --lr {sweep.suggestion:.3g} ({where}): the loss falls fastest there")
    if args.plot:
        print(f"wrote {result['plot']}")
    return 0
