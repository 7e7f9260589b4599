"""A study: shared options and a list of named runs with their overrides, in TOML.

    name = "init"
    about = "the lectures' MLP under five initialisations"
    data = "names"                          # the default; --data replaces it
    [shared]                                # every run: train()'s options
    model = "mlp"
    split = "lecture"
    max_steps = 200000
    model_options = { context = 3, embedding = 10, hidden = 200 }
    [[runs]]
    name = "naive"
    reference = { train = 2.1137, val = 2.1547 }   # the reference figures, printed beside ours
    model_options = { by_fan_in = false, output_scale = 1.0, bias_std = 1.0 }

A run's options are the shared ones with its own on top (``model_options`` merged key by
key). Besides ``train()``'s options a run may say ``kind`` (see ``runner.py``) and
``sample_steps``, the steps whose logged samples its row shows. ``scale`` shrinks every
count of steps (max_steps, eval_every, the steps of an lr_schedule, diagnostics, a time
budget) for a quick look at the same study. A run of so many steps keeps its number of
evaluations at any scale; a run of so many seconds keeps its cadence of evaluations, so
that they shrink with its steps: its steps are not known beforehand, and evaluations are
not counted in its budget, so a cadence scaled with it would cost a quick look as much
evaluating as the whole study.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from charloom.errors import CharloomError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

STEP_COUNTS = ("max_steps", "warmup_steps")
CADENCES = ("eval_every", "checkpoint_every", "diagnostics_every")  # of steps between looks
REFERENCES = ("train", "val", "test", "first_loss")


@dataclass
class StudyRun:
    name: str
    options: dict[str, Any]
    reference: dict[str, float] = field(default_factory=dict)


@dataclass
class Study:
    name: str
    about: str
    data: str
    runs: list[StudyRun]
    source: str = ""
    notes: str = ""

    def scaled(self, scale: float) -> Study:
        """The same study with every count of steps multiplied by ``scale`` (at least 1)."""
        if not (scale > 0 and math.isfinite(scale)):
            raise CharloomError(f"--scale must be above 0, got {scale}")
        runs = [StudyRun(r.name, scale_options(r.options, scale), r.reference) for r in self.runs]
        return Study(self.name, self.about, self.data, runs, self.source, self.notes)


def scale_options(options: dict[str, Any], scale: float) -> dict[str, Any]:
    if scale == 1:
        return dict(options)
    scaled = dict(options)
    timed = bool(scaled.get("time_budget")) and not scaled.get("max_steps")
    for key in STEP_COUNTS + (() if timed else CADENCES):
        if scaled.get(key):
            scaled[key] = max(1, round(scaled[key] * scale))
    if scaled.get("sample_steps"):
        scaled["sample_steps"] = sorted({max(1, round(step * scale)) for step in scaled["sample_steps"]})
    if scaled.get("time_budget"):
        scaled["time_budget"] = scaled["time_budget"] * scale
    if scaled.get("lr_schedule"):
        pairs = [part.split(":") for part in scaled["lr_schedule"].split(",")]
        steps = [0 if int(step) == 0 else max(1, round(int(step) * scale)) for step, _ in pairs]
        kept = dict(zip(steps, (rate for _, rate in pairs), strict=True))  # a step squeezed onto another
        scaled["lr_schedule"] = ",".join(f"{step}:{rate}" for step, rate in kept.items())
    return scaled


def builtin_names() -> list[str]:
    folder = resources.files("charloom.study") / "builtin"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_study(name_or_file: str) -> Study:
    """A built-in study by name, or a study file."""
    path = Path(name_or_file)
    if name_or_file in builtin_names() and not path.exists():
        text = (resources.files("charloom.study") / "builtin" / f"{name_or_file}.toml").read_text("utf-8")
        source = f"built-in study {name_or_file}"
    elif path.suffix == ".toml" and path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        raise CharloomError(
            f"no study {name_or_file!r}: give a built-in one ({', '.join(builtin_names())}) or a .toml file"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CharloomError(f"{source} is not valid TOML ({exc})") from None
    return parse_study(raw, source)


def parse_study(raw: dict[str, Any], source: str) -> Study:
    """Check a study's shape and build it; every mistake named in one line."""
    shared = raw.get("shared", {})
    runs = raw.get("runs")
    if not isinstance(shared, dict) or not isinstance(runs, list) or not runs:
        raise CharloomError(f"{source}: a study needs a [shared] table and at least one [[runs]] entry")
    built, names = [], set()
    for number, run in enumerate(runs, 1):
        if not isinstance(run, dict) or not isinstance(run.get("name"), str) or not run["name"]:
            raise CharloomError(f"{source}: run {number} needs a name")
        name = run["name"]
        if name in names or "/" in name or name.startswith("."):
            raise CharloomError(f"{source}: run name {name!r} is repeated or cannot name a folder")
        names.add(name)
        reference = run.get("reference", {})
        if not isinstance(reference, dict) or not set(reference) <= set(REFERENCES):
            raise CharloomError(f"{source}: run {name!r}: reference takes {', '.join(REFERENCES)}")
        options = {key: value for key, value in run.items() if key not in ("name", "reference")}
        built.append(StudyRun(name, merged(shared, options), {k: float(v) for k, v in reference.items()}))
    return Study(
        str(raw.get("name", Path(source).stem)),
        str(raw.get("about", "")),
        str(raw.get("data", "names")),
        built,
        source,
        str(raw.get("notes", "")),
    )


def merged(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    options = {**shared, **own}
    model_options = {**shared.get("model_options", {}), **own.get("model_options", {})}
    if model_options:
        options["model_options"] = model_options
    return options
