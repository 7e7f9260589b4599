"""A model from what a run saved: run.json's model section and vocabulary, and a weights
file (safetensors, float32 CPU tensors whatever trained them)."""

from __future__ import annotations

from pathlib import Path

import torch

from charloom.data.vocab import Vocab
from charloom.device import resolve_device
from charloom.errors import RunError
from charloom.io import load_tensors
from charloom.models.base import CharModel
from charloom.models.registry import build_model, make_config, saved_config


def model_from_info(info: dict) -> tuple[CharModel, Vocab]:
    """The model run.json describes, freshly initialised, and its vocabulary."""
    try:
        vocab = Vocab.from_json(info["vocab"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"run.json's vocabulary is damaged ({type(exc).__name__}: {str(exc)[:120]}); "
                       "retrain the run") from None  # fmt: skip
    family = info["model"]["family"]
    config = make_config(family, saved_config(family, info["model"]["config"]))
    return build_model(family, config, vocab.size), vocab


def load_weights(model: CharModel, path: Path) -> dict:
    tensors, meta = load_tensors(path)
    try:
        model.load_tensors(tensors)
    except (KeyError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise RunError(
            f"{path} does not match the model in run.json ({detail}); the run is damaged: retrain it"
        ) from None
    return meta


def load_model(
    info: dict, weights: Path, device: str | torch.device = "cpu"
) -> tuple[CharModel, Vocab, dict]:
    """The model run.json describes with the ``weights`` file loaded, in eval mode on
    ``device``; its vocabulary; the weights' metadata."""
    model, vocab = model_from_info(info)
    meta = load_weights(model, weights)
    model.to(resolve_device(device)).eval()
    return model, vocab, meta
