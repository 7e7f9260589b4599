"""Which batches a model reads: the layout its family trains in, for the data's format,
and a run's splits read from their files into those batches.

One module above the layouts themselves (``batches.py``, and ``packing.py`` and
``streams.py``, which build on it), so that none of them imports another's user.
"""

from __future__ import annotations

from pathlib import Path

import torch

from charloom.data.batches import Batches, ItemBatches, Layout, TextBatches, WindowBatches, encode_items
from charloom.data.corpus import read_text_file
from charloom.data.packing import PACKED_ROW_LEN, PackedBatches
from charloom.data.streams import StreamBatches
from charloom.data.tokens import TokenFile, encode_text_file
from charloom.data.vocab import Vocab

DEFAULT_TEXT_BLOCK = 128


def text_block(block_size: int | None, context: int | None) -> int:
    """Characters per training window of running text: ``--block-size`` if given, else the
    model's context, else 128 for models that see the whole past."""
    return block_size or context or DEFAULT_TEXT_BLOCK


def make_batches(
    layout: Layout | str,
    data: list[list[int]] | torch.Tensor | TokenFile,
    context: int | None,
    block: int,
    stateful: bool = False,
    rows: int = 1,
) -> Batches:
    """Pick the batch layout for a model's ``training_layout`` and the corpus format; a
    text read by a model that carries its state (``stateful``) is read in order, in
    ``rows`` stretches (``streams.py``)."""
    layout = Layout(layout)
    text = isinstance(data, torch.Tensor | TokenFile)
    if text and stateful:
        return StreamBatches(data, block, rows)
    if text:
        window = layout is Layout.WINDOW
        return TextBatches(data, context if window else block, window_only=window)
    if layout is Layout.WINDOW:
        return WindowBatches(data, context)
    if layout is Layout.PACKED and context is not None and max(len(s) for s in data) - 1 <= context:
        return PackedBatches(data, max(PACKED_ROW_LEN, context))
    return ItemBatches(data)


def split_batches(
    paths: dict[str, Path],
    vocab: Vocab,
    fmt: str,
    layout: Layout | str,
    context: int | None,
    block_size: int | None = None,
    stateful: bool = False,
    rows: int = 1,
) -> dict[str, Batches | None]:
    """Each split's batches (``paths``: split name -> its file) in the model's layout, as
    training reads them; None for an empty or missing split. Running text is encoded once
    to a token file next to its split, so that a large corpus never sits in
    memory as int64 (``tokens.py``). A ``stateful`` run reads its text in order: train in
    ``rows`` stretches, val and test as one (``streams.py``)."""
    block = text_block(block_size, context)
    batches: dict[str, Batches | None] = {}
    for name, path in paths.items():
        if fmt == "text":
            encoded = encode_text_file(path, vocab, path.with_suffix(".tokens")) if path.exists() else []
            empty = len(encoded) < 2
        else:
            text = read_text_file(path) if path.exists() else ""
            encoded = encode_items([line for line in text.splitlines() if line], vocab)
            empty = len(encoded) == 0
        streams = rows if name == "train" else 1
        batches[name] = None if empty else make_batches(layout, encoded, context, block, stateful, streams)
    return batches
