import torch

from charloom.data.batches import IGNORE, ItemBatches, TextBatches, WindowBatches, windows_and_targets


def naive_windows(seqs, context):
    xs, ys = [], []
    for seq in seqs:
        window = [0] * context
        for token, target in zip(seq[:-1], seq[1:], strict=True):
            window = window[1:] + [token]
            xs.append(list(window))
            ys.append(target)
    return xs, ys


def test_windows_match_the_lecture_construction():
    seqs = [[0, 5, 1, 13, 13, 1, 0], [0, 2, 0], [0, 1, 22, 1, 0]]
    for context in (1, 3, 8):
        x, y = windows_and_targets(seqs, context)
        xs, ys = naive_windows(seqs, context)
        assert x.tolist() == xs and y.tolist() == ys


def test_item_batches_shift_targets_and_ignore_padding():
    batches = ItemBatches([[0, 3, 4, 0], [0, 5, 0]])
    chunks = list(batches.chunks(8))
    inputs, targets = chunks[0]
    assert inputs.tolist() == [[0, 5, 0], [0, 3, 4]]
    assert targets.tolist() == [[5, 0, IGNORE], [3, 4, 0]]
    assert batches.num_targets == 5


def test_text_chunks_cover_every_target_once():
    stream = torch.arange(103) % 7
    for block, window_only in ((10, False), (7, True), (16, False)):
        batches = TextBatches(stream, block, window_only=window_only)
        seen = 0
        for _, targets in batches.chunks(4):
            seen += int((targets != IGNORE).sum())
        assert seen == batches.num_targets


def test_sampling_is_reproducible_from_the_generator():
    batches = WindowBatches([[0, 1, 2, 3, 0]] * 5, 3)
    a = batches.sample(6, torch.Generator().manual_seed(0))
    b = batches.sample(6, torch.Generator().manual_seed(0))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
