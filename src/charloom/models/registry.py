"""Family name -> (config class, model class). Configs are plain data that round-trip
through JSON, so a run on disk names its family and config and nothing else."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from charloom.errors import CharloomError
from charloom.models.base import CharModel, config_from_dict, config_to_dict
from charloom.models.bigram import Bigram
from charloom.models.mlp import MLP
from charloom.models.ngram import NGram
from charloom.models.recurrent import GRU, LSTM, RNN
from charloom.models.size import check_size
from charloom.models.transformer import Transformer
from charloom.models.wavenet import WaveNet

FAMILIES: dict[str, type[CharModel]] = {
    cls.family: cls for cls in (NGram, Bigram, MLP, WaveNet, RNN, GRU, LSTM, Transformer)
}


def register_family(cls: type[CharModel]) -> type[CharModel]:
    """Add a family (usable as a class decorator): training, sampling, evaluation, the
    command line's flags and ``charloom models`` then take it by its ``family`` name."""
    if not cls.family or not isinstance(cls.family, str):
        raise ValueError(f"{cls.__name__} needs a family name")
    FAMILIES[cls.family] = cls
    return cls


def model_class(family: str) -> type[CharModel]:
    try:
        return FAMILIES[family]
    except KeyError:
        raise CharloomError(
            f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}"
        ) from None


DEFAULT_FAMILY = {"lines": "mlp", "text": "transformer"}  # what `charloom train` trains unnamed


def make_config(family: str, options: dict[str, Any] | Any | None = None, fmt: str = "lines") -> Any:
    """A family's config from options given by name (or the config itself), over the
    family's text defaults for running text; unknown options are an error."""
    cls = model_class(family)
    if isinstance(options, cls.config_class):
        return options
    given = dict(options or {})
    if fmt == "text":
        given = {**cls.text_defaults.get("model", {}), **given}
    try:
        return config_from_dict(cls.config_class, given)
    except ValueError as exc:
        raise CharloomError(f"model {family!r}: {exc}") from None


def saved_config(family: str, saved: dict) -> dict:
    """A config as run.json holds it, with the value an older format meant for each
    option added since (``CharModel.config_before``)."""
    return {**model_class(family).config_before, **saved}


def build_model(family: str, config: Any, vocab_size: int, purpose: str = "use") -> CharModel:
    """The model, once its size has been checked against the memory free for ``purpose``
    ("train" or "use"; see ``models/size.py``)."""
    cls = model_class(family)
    check_size(cls, config, vocab_size, purpose)
    return cls(config, vocab_size)


def describe(family: str) -> dict:
    """The options of a family with their defaults and help, for `charloom models`."""
    cls = model_class(family)
    options = []
    for f in dataclasses.fields(cls.config_class):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        options.append({"name": f.name, "default": default, "help": f.metadata.get("help", "")})
    module_doc = sys.modules[cls.__module__].__doc__ or ""
    summary = module_doc.strip().splitlines()[0] if module_doc.strip() else ""
    layout = "counts" if cls.fitted_by_counting else cls.training_layout.value
    return {"family": family, "summary": summary, "layout": layout, "options": options}


__all__ = [
    "FAMILIES",
    "model_class",
    "make_config",
    "saved_config",
    "build_model",
    "describe",
    "config_to_dict",
]
