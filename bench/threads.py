"""One torch thread or two? Training speed of small models at each thread count.

Small character models multiply small matrices, and splitting them across cores costs
synchronisation. This measures real tokens per second for each family's default (and a
few other sizes) at 1 and 2 threads, alternated in one process, which is what the
trainer's default (torch's own count, a thread per core) rests on.

    python bench/threads.py [--steps 300]
"""

from __future__ import annotations

import torch
from common import parser, report, train_tokens_per_second

from charloom.data.batches import encode_items
from charloom.data.corpus import load_corpus
from charloom.data.loading import make_batches
from charloom.data.vocab import Vocab
from charloom.models.registry import FAMILIES, build_model, make_config

CANDIDATES = [  # (family, options, batch size: None for the family's default)
    ("mlp", {}, None),
    ("mlp", {"n_layer": 5, "hidden": 100, "batchnorm": True}, 256),
    ("wavenet", {}, None),
    ("wavenet", {}, 64),
    ("lstm", {}, None),
    ("gru", {}, None),
    ("transformer", {}, None),
    ("transformer", {}, 64),
]


def tokens_per_second(
    family: str, options: dict, batch_size: int, items: list[str], steps: int, threads: int
) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    vocab = Vocab.from_texts(items)
    model = build_model(family, make_config(family, options), vocab.size)
    batches = make_batches(model.training_layout, encode_items(items, vocab), model.context_size, 16)
    return train_tokens_per_second(model, batches, batch_size, steps)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    items = load_corpus(args.data).items
    rows = []
    for family, options, batch_size in CANDIDATES:
        if family not in FAMILIES:
            continue
        batch_size = batch_size or FAMILIES[family].train_defaults["batch_size"]
        # alternated twice, the better of each kept: the machine's speed drifts
        one, two = 0.0, 0.0
        for _ in range(2):
            one = max(one, tokens_per_second(family, options, batch_size, items, args.steps, 1))
            two = max(two, tokens_per_second(family, options, batch_size, items, args.steps, 2))
        label = family + "".join(f" {k}={v}" for k, v in options.items())
        rows.append(
            {
                "model": label,
                "batch": batch_size,
                "tok/s 1 thread": one,
                "tok/s 2 threads": two,
                "2 vs 1": two / one,
            }
        )
    report(rows, args, "threads", "One thread or two (bench/threads.py)")


if __name__ == "__main__":
    main()
