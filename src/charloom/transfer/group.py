"""A run group: one run per category, trained with the same config and seed, plus the
category classifier that measures them.

    GROUP/
      group.json                 source, categories -> run folders, options, classifier figures
      <category>/                an ordinary charloom run (``charloom sample GROUP/italian`` works)
      model/                     instead, with --condition category: one conditional run for
                                 all categories (``charloom sample GROUP/model --category italian``)
      all-categories/            the pooled generator: one run on every category's items, its
                                 splits the union of theirs (a column of the transfer table)
      classifier.safetensors     the n-gram classifier (judge/classifier.py)
      classifier.json

Each category's items go through ``train()`` unchanged, from a temporary file, so a group's
runs are exactly the runs ``charloom train`` would make; their splits (run/data/) are what
the classifier trains on (train), picks its weights with (val) and is scored on (test).
Every run gets the same vocabulary, the union of all categories' characters: otherwise a
generator cannot read the start of a name with a letter its own language lacks (Turkish and
Hungarian names have no 'w'), those names drop out of the transfer score, and the likelihood judge
calls every string with such a letter impossible for that category instead of unlikely.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from charloom import io
from charloom.api import train
from charloom.data.categories import load_categorized
from charloom.data.conditions import tag, token_for
from charloom.data.splits import Splits
from charloom.errors import CharloomError, RunError
from charloom.judge.classifier import ClassifierConfig, NgramClassifier
from charloom.judge.likelihood import LikelihoodJudge
from charloom.run import Run, load_run
from charloom.rundir import SPLITS, read_run_json

GROUP_FORMAT = 1
POOLED = "all-categories"
RESERVED = {"group.json", "classifier.json", "classifier.safetensors", POOLED}


class CategoryRun:
    """One category of a conditional run, looking like a run of its own to the transfer
    code: ``sample`` and ``split_items`` add and strip the category token, and the judge
    reads ``condition`` as context (data/conditions.py)."""

    def __init__(self, run: Run, category: str):
        self.run, self.category = run, category
        self.condition = token_for(run.info, category)
        self.model, self.vocab, self.path, self.info = run.model, run.vocab, run.path, run.info

    def __repr__(self) -> str:
        return f"CategoryRun({str(self.path)!r}, category={self.category!r})"

    def sample(self, n: int = 10, **options: Any):
        return self.run.sample(n, category=self.category, **options)

    def split_items(self, name: str) -> list[str]:
        return [item[1:] for item in self.run.split_items(name) if item[:1] == self.condition]


class Group:
    """A trained run group: ``runs`` (category -> Run), the two judges, the splits."""

    def __init__(self, path: str | Path, device: str = "auto"):
        self.path, self.device = Path(path), device
        info_path = self.path / "group.json"
        if not info_path.exists():
            raise RunError(
                f"{self.path} is not a run group (no group.json); make one with `charloom train-categories`"
            )
        try:
            self.info = json.loads(info_path.read_text(encoding="utf-8"))
            self.run_folders: dict[str, str] = dict(self.info["categories"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{info_path} is damaged ({type(exc).__name__}); train the group again") from None

    def __repr__(self) -> str:
        return f"Group({str(self.path)!r}, categories={self.categories})"

    @property
    def categories(self) -> list[str]:
        return list(self.run_folders)

    @cached_property
    def pooled(self) -> Run | None:
        """The generator trained on every category together, when the group has one."""
        folder = self.info.get("pooled")
        return load_run(self.path / folder, device=self.device) if folder else None

    @property
    def conditional(self) -> bool:
        return self.info.get("condition") == "category"

    @cached_property
    def runs(self) -> dict[str, Run | CategoryRun]:
        if self.conditional:
            run = load_run(self.path / self.info["run"], device=self.device)
            return {c: CategoryRun(run, c) for c in self.run_folders}
        return {c: load_run(self.path / folder, device=self.device) for c, folder in self.run_folders.items()}

    @cached_property
    def judge(self) -> LikelihoodJudge:
        return LikelihoodJudge(self.runs)

    @cached_property
    def classifier(self) -> NgramClassifier:
        return NgramClassifier.load(self.path)

    def split(self, name: str) -> dict[str, list[str]]:
        """Category -> the items of one split (train, val or test) of its run."""
        return {
            c: run.split_items(name) if (run.path / "data" / f"{name}.txt").stat().st_size else []
            for c, run in self.runs.items()
        }

    def check_category(self, category: str) -> None:
        if category not in self.run_folders:
            known = ", ".join(self.categories)
            raise CharloomError(f"the group has no category {category!r}; it has: {known}")


def load_group(path: str | Path, device: str = "auto") -> Group:
    return Group(path, device)


def train_group(
    data: str | Path,
    model: str = "mlp",
    *,
    out: str | Path,
    categories: list[str] | None = None,
    keep_accents: bool = False,
    condition: str | None = None,
    model_options: dict[str, Any] | None = None,
    classifier: ClassifierConfig | None = None,
    split_seed: int = 42,
    pooled: bool = True,
    force: bool = False,
    log: Callable[[str], None] = print,
    **train_options: Any,
) -> Group:
    """Train one run per category of ``data`` (embedded set, TSV file or folder), then the
    classifier; returns the group. ``condition="category"`` trains one conditional run for
    all categories instead (data/conditions.py). ``pooled``: also one run on all of them,
    with the same options, as the table's all-categories column.

    >>> group = train_group("fullnames-by-country", "gru", out="runs/langs",
    ...                     categories=["italian", "turkish"], time_budget=30)   # doctest: +SKIP
    """
    out = Path(out)
    items = load_categorized(data, keep_accents=keep_accents, categories=categories)
    if len(items) < 2:
        raise CharloomError(f"{data} has {len(items)} category; style transfer needs at least 2")
    clash = sorted(set(items) & RESERVED)
    if clash:
        raise CharloomError(f"a category cannot be named {clash[0]!r}; rename it")
    if (out / "group.json").exists() and not force:
        raise CharloomError(f"{out} already holds a run group; use --force to replace it, or another --out")
    if condition not in (None, "category"):
        raise CharloomError(f"--condition takes 'category' (or nothing), got {condition!r}")
    out.mkdir(parents=True, exist_ok=True)
    info = {
        "format_version": GROUP_FORMAT,
        "source": str(data),
        "keep_accents": keep_accents,
        "model": model,
        "model_options": model_options or {},
        "train": train_options,
        "split_seed": split_seed,
        "categories": {},
    }
    alphabet = "".join(sorted({ch for lines in items.values() for line in lines for ch in line}))
    if condition == "category":
        return _train_conditional(
            items, model, out, info, model_options, split_seed, pooled, force, log, classifier, train_options
        )
    with tempfile.TemporaryDirectory(prefix="charloom-group-") as scratch:
        for number, (category, lines) in enumerate(items.items(), 1):
            log(f"[{number}/{len(items)}] {category}: {len(lines):,} items")
            path = Path(scratch) / f"{category}.txt"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            train(
                path,
                model,
                out=out / category,
                model_options=model_options,
                split_seed=split_seed,
                alphabet=alphabet,
                force=force,
                log=log,
                **train_options,
            )
            info["categories"][category] = category
            io.atomic_write_json(out / "group.json", info)  # usable as far as it got
    group = Group(out)
    if pooled:
        train_pooled(group, model, model_options, alphabet, force, log, train_options)
    figures = train_classifier(group, classifier)
    log(f"classifier: held-out accuracy {figures['accuracy']:.3f} on {figures['items']:,} test items")
    return group


def train_pooled(group: Group, model, model_options, alphabet, force, log, train_options) -> Run:
    """The all-categories generator. Its splits are the union of the categories' own, so
    no name held out from a category's generator is trained on here either (a name of two
    categories stays held out if either holds it out)."""
    splits, taken = {}, set()
    for name in reversed(SPLITS):  # test, val, then train
        items = [item for items in group.split(name).values() for item in items]
        splits[name] = [item for item in dict.fromkeys(items) if item not in taken]
        taken.update(splits[name])
    log(f"[pooled] every category: {sum(map(len, splits.values())):,} items")
    with tempfile.TemporaryDirectory(prefix="charloom-group-") as scratch:
        path = Path(scratch) / f"{POOLED}.txt"
        path.write_text(
            "\n".join(item for items in splits.values() for item in items) + "\n", encoding="utf-8"
        )
        run = train(
            path,
            model,
            out=group.path / POOLED,
            model_options=model_options,
            alphabet=alphabet,
            splits=Splits(**splits),
            force=force,
            log=log,
            **train_options,
        )
    group.info["pooled"] = POOLED
    io.atomic_write_json(group.path / "group.json", group.info)
    group.__dict__.pop("pooled", None)
    return run


def _train_conditional(
    items, model, out, info, model_options, split_seed, pooled, force, log, classifier, train_options
) -> Group:
    """One run for every category, each item tagged with its category's token."""
    categories = list(items)
    log(
        f"one {model} for {len(categories)} categories: "
        + ", ".join(f"{c} {len(lines):,}" for c, lines in items.items())
    )
    with tempfile.TemporaryDirectory(prefix="charloom-group-") as scratch:
        path = Path(scratch) / "tagged.txt"
        path.write_text(
            "".join(tag(k, line) + "\n" for k, c in enumerate(categories) for line in items[c]),
            encoding="utf-8",
        )
        train(
            path,
            model,
            out=out / "model",
            model_options=model_options,
            split_seed=split_seed,
            force=force,
            log=log,
            **train_options,
        )
    run_info = read_run_json(out / "model")
    run_info["condition"] = {"kind": "category", "categories": categories}
    io.atomic_write_json(out / "model" / "run.json", run_info)
    info.update({"condition": "category", "run": "model", "categories": {c: "model" for c in categories}})
    io.atomic_write_json(out / "group.json", info)
    group = Group(out)
    if pooled:
        alphabet = "".join(sorted({ch for lines in items.values() for line in lines for ch in line}))
        train_pooled(group, model, model_options, alphabet, force, log, train_options)
    figures = train_classifier(group, classifier)
    log(f"classifier: held-out accuracy {figures['accuracy']:.3f} on {figures['items']:,} test items")
    return group


def train_classifier(group: Group, config: ClassifierConfig | None = None) -> dict:
    """Fit the group's classifier on the runs' train splits (val picks the weights), score
    it on their test splits, save it in the group; returns the held-out figures."""
    clf = NgramClassifier(group.categories, config).fit(group.split("train"), group.split("val"))
    figures = clf.evaluate(group.split("test"))
    clf.save(group.path, figures)
    group.info["classifier"] = {"accuracy": figures["accuracy"], "items": figures["items"]}
    io.atomic_write_json(group.path / "group.json", group.info)
    group.__dict__.pop("classifier", None)
    return figures


__all__ = ["POOLED", "CategoryRun", "Group", "load_group", "train_classifier", "train_group", "train_pooled"]
