"""``charloom train``: a model on a file or an embedded dataset, or a run resumed."""

from __future__ import annotations

import argparse
import sys

from charloom.api import train
from charloom.cli.app import command, emit_json, say
from charloom.cli.options import add_config_flags, add_model_flags, given, model_options, shared_option
from charloom.data.config import DataConfig
from charloom.errors import CharloomError
from charloom.models.registry import DEFAULT_FAMILY
from charloom.rundir import RunDir
from charloom.train.config import TrainConfig
from charloom.train.distributed import detect
from charloom.train.init_from import read_parent

SHARED = ("block_size",)  # --block-size: the transformer's context, else the text window
# What a finished run shows: ten names to scan, or three passages of running text to read
# (each 500 characters, most of them past a transformer's context and so a full window's
# pass each: ten would flood the terminal and take the time of many training steps).
CLOSING_SAMPLES = {"lines": 10, "text": 3}


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """The training options and every family's model options (also for train-categories)."""
    add_config_flags(p, TrainConfig, title="training", skip=SHARED)
    add_model_flags(p, also=SHARED)


def training_options(args: argparse.Namespace, family: str) -> dict:
    options = given(args, TrainConfig)
    for name in SHARED:
        value = shared_option(args, family, name)
        if value is not None:
            options[name] = int(value)
    return options


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default="names",
        help="a dataset's name (default: names), a file (one item per line), a folder, a glob, a "
        ".gz/.bz2/.xz file, or - for standard input",
    )
    p.add_argument(
        "--model", help="model family (see `charloom models`; default mlp, and transformer for --format text)"
    )
    p.add_argument("--out", help="run folder (default runs/<model>-<data>, numbered if taken)")
    add_config_flags(p, DataConfig)
    p.add_argument("--no-dedup", action="store_true", help="keep duplicate items")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument(
        "--init-from",
        metavar="RUN",
        help="start from a trained run's best weights and model config (fine-tuning; a lower default rate)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final figures as JSON")
    add_training_flags(p)


@command("train", "train a model on a file or embedded dataset", _add_train)
def cmd_train(args: argparse.Namespace) -> int:
    log = say if args.json else print
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    if args.resume:
        if args.out is None:
            raise CharloomError("--resume needs the run folder: --out DIR")
        run_dir = RunDir(args.out)
        run_dir.check_resumable()
        family = run_dir.read_info()["model"]["family"]
        run = train(
            None,
            out=args.out,
            resume=True,
            init_from=args.init_from,
            progress=progress,
            log=log,
            **training_options(args, family),
        )
    else:
        data = DataConfig(source=args.data, dedup=not args.no_dedup, **given(args, DataConfig))
        family = args.model or DEFAULT_FAMILY[data.format]
        if args.init_from is not None and args.model is None:
            family = read_parent(args.init_from, None, data.format).family
        run = train(
            data,
            family,
            TrainConfig(**training_options(args, family)),
            out=args.out,
            model_options=model_options(args, family, also=SHARED),
            force=args.force,
            init_from=args.init_from,
            progress=progress,
            log=log,
        )
    if not detect().is_main:  # under torchrun, rank 0 reports
        return 0
    if args.json:
        emit_json({"run": str(run.path), **run.info["status"]})
        return 0
    print(f"\nsamples from {run.path}:")
    samples = run.sample(n=CLOSING_SAMPLES[run.format], seed=0, prefix="" if run.format == "lines" else "\n")
    for number, s in enumerate(samples, start=1):
        if run.format == "lines":
            print(f"  {s.text}" + ("" if s.seen in (None, "new") else f"   ({s.seen})"))
        else:
            passage = s.text.removeprefix("\n")  # the prompt each passage continues
            print(f"--- passage {number}\n{passage}")
    return 0
