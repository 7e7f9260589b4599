"""``charloom.train``: train a run, watched as a user expects, and get it back as a ``Run``.

This is where the training loop meets what watches it: the console report, the health
checks and diagnostics, and samples at each evaluation, all callbacks that the loop
itself never imports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from charloom.data.config import DataConfig
from charloom.data.splits import Splits
from charloom.errors import CharloomError
from charloom.generate.during_training import TrainingSamples
from charloom.inspect.diagnostics.watch import TrainingWatch
from charloom.models.registry import DEFAULT_FAMILY
from charloom.run import Run
from charloom.train import api as training
from charloom.train.callbacks import ConsoleReport
from charloom.train.config import TrainConfig
from charloom.train.distributed import detect
from charloom.train.init_from import read_parent


def default_callbacks(progress: bool = False) -> list[Any]:
    """The console report (a progress bar when ``progress``), the health checks (and
    ``--diagnostics``), and samples at each evaluation."""
    return [ConsoleReport(progress_bar=progress), TrainingWatch(), TrainingSamples()]


def train(
    data: str | Path | DataConfig | None = "names",
    model: str | None = None,
    config: TrainConfig | None = None,
    *,
    out: str | Path | None = None,
    model_options: dict[str, Any] | Any | None = None,
    format: str = "lines",
    val_file: str | None = None,
    test_file: str | None = None,
    split_seed: int = 42,
    split: str = "charloom",
    split_fractions: tuple[float, float, float] | None = None,
    dedup: bool = True,
    alphabet: str | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
    normalize: str | None = None,
    splits: Splits | None = None,
    resume: bool = False,
    init_from: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = print,
    callbacks: list[Any] | None = None,
    **train_options: Any,
) -> Run:
    """Train a model and return the finished run.

    The three sections of run.json can be given as objects, ``train(DataConfig(...),
    "transformer", TrainConfig(...), model_options=TransformerConfig(...))``, or by name:
    the data's options as keywords (``format``, ``val_file``, ...) and the training
    options as the rest (``max_steps=2000``). ``model`` defaults to the MLP for lines and
    the transformer, with its text defaults, for running text. ``data`` may also be a folder,
    a glob, a compressed file or ``"-"`` (standard input), read as ``encoding`` says
    (``data/sources.py``). ``alphabet`` names characters the vocabulary holds even where
    the data lacks them (a run group gives every category's generator the union of all
    their alphabets, so each can read the start of every other's names).
    ``splits`` replaces charloom's own split of ``data`` with the caller's (line mode),
    e.g. another tool's, to compare on its terms. ``resume=True`` continues the run in
    ``out``; training options given then say how much longer and how watched.
    ``init_from`` starts a new run from a trained one's best weights and model config
    (fine-tuning): ``model`` defaults to its family, model options may change only what
    leaves the weights' shapes alone, and the peak rate left open is a fraction of the usual.

    >>> run = train("names", "mlp", max_steps=2000, out="runs/demo")  # doctest: +SKIP
    >>> run.evaluate("test")["nll"]                                   # doctest: +SKIP
    """
    if not detect().is_main:  # rank 0 speaks for the run
        log, progress = (lambda message: None), False
    watchers = default_callbacks(progress) if callbacks is None else callbacks
    if resume:
        if init_from is not None:
            raise CharloomError("--init-from starts a new run and --resume continues one: give one of them")
        if out is None:
            raise CharloomError("--resume needs the run folder: --out DIR")
        run_dir = training.resume(out, train_options, callbacks=watchers, log=log)
        return Run(run_dir.path)
    if config is not None and train_options:
        raise CharloomError("give the training options either as a TrainConfig or as keywords, not both")
    if not isinstance(data, DataConfig):
        data = DataConfig(
            source=data if data is not None else "names",
            format=format,
            val_file=val_file,
            test_file=test_file,
            split_seed=split_seed,
            split=split,
            fractions=split_fractions,
            dedup=dedup,
            alphabet=alphabet,
            encoding=encoding,
            errors=errors,
            normalize=normalize,
            splits=splits,
        )
    config = config if config is not None else TrainConfig(**train_options)
    if model is None and init_from is not None:
        model = read_parent(init_from, None, data.format).family
    run_dir = training.start(
        data,
        model or DEFAULT_FAMILY[data.format],
        model_options,
        config,
        out=out,
        force=force,
        callbacks=watchers,
        log=log,
        init_from=init_from,
    )
    return Run(run_dir.path)


def resume(out: str | Path, log: Callable[[str], None] = print, **overrides: Any) -> Run:
    """Continue the run in ``out`` from its last checkpoint (``train(resume=True)``)."""
    return train(None, out=out, resume=True, log=log, **overrides)
