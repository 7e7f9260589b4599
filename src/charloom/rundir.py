"""A run folder on disk: its named files, its ``run.json``, and the checks made before a
run is started, resumed or read.

    runs/<name>/
      run.json            data / model / train sections, vocab, package and format version
      model.safetensors   best-by-val weights: what sampling and evaluation use
      last.safetensors    weights at the latest checkpoint
      state.safetensors   the training state of that checkpoint (resume is bit-for-bit)
      metrics.jsonl       one line per eval
      samples.txt         samples taken during training: step, text, novelty mark
      diagnostics.jsonl   with --diagnostics: one line per recorded step
      data/               the train / val / test splits the run used

Everything here reads or writes files; nothing builds a model, batches, trains or
samples, so every layer that works with runs (training, generation, inspection) can
stand on it. A saved model is read by ``models.saved``, a split's batches by
``data.loading``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charloom.data.corpus import FORMATS, read_text_file
from charloom.data.vocab import Vocab
from charloom.errors import CharloomError, RunError
from charloom.io import RunLock, atomic_write_bytes, atomic_write_json, remove_stale_temps
from charloom.models.base import config_to_dict
from charloom.version import __version__

FORMAT_VERSION = 1
SHAPE = (  # what run.json must hold for a run to be read at all: (section, key, type)
    ("model", "family", str),
    ("model", "config", dict),
    ("vocab", "chars", str),
    ("data", "format", str),
    ("train", None, dict),
)
SPLITS = ("train", "val", "test")
DIAGNOSTICS_FILE = "diagnostics.jsonl"
LOCK_FILE = ".lock"  # held by the process training the run (see RunLock)


@dataclass(frozen=True)
class LoggedSample:
    """One line of ``samples.txt``: ``step<TAB>text<TAB>mark``, the text JSON-escaped (no
    quotes) so that its newlines and tabs stay on its line; the mark (train, held-out, new)
    is empty for running text and absent in runs written before marks were kept."""

    step: int
    text: str
    seen: str | None = None

    def line(self) -> str:
        return f"{self.step}\t{json.dumps(self.text)[1:-1]}\t{self.seen or ''}\n"


class RunDir:
    """The paths of one run folder and the operations on them as a whole.

    >>> RunDir("runs/mlp").weights_path("last").name
    'last.safetensors'
    """

    RUN_JSON = "run.json"
    METRICS = "metrics.jsonl"
    SAMPLES = "samples.txt"
    DIAGNOSTICS = DIAGNOSTICS_FILE
    # Append-only logs: a checkpoint records their sizes, and resuming cuts them back,
    # since lines written after the checkpoint belong to work that is then redone.
    LOGS = (METRICS, SAMPLES, DIAGNOSTICS)
    # What charloom writes into a run folder, so --force replaces its own files only.
    OWN_FILES = (RUN_JSON, "model.safetensors", "last.safetensors", "state.safetensors", *LOGS, "report.html")
    OWN_FOLDERS = ("plots", "tensorboard")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # -- named paths -----------------------------------------------------------------
    @property
    def run_json(self) -> Path:
        return self.path / self.RUN_JSON

    @property
    def state_path(self) -> Path:
        return self.path / "state.safetensors"

    def weights_path(self, which: str = "model") -> Path:
        """``model`` (best by val) or ``last`` (the latest checkpoint)."""
        return self.path / f"{which}.safetensors"

    def split_path(self, split: str) -> Path:
        return self.path / "data" / f"{split}.txt"

    # -- run.json --------------------------------------------------------------------
    def read_info(self) -> dict:
        """run.json, checked: a damaged file or a newer format is a one-line RunError."""
        if not self.path.is_dir():
            raise RunError(f"no run at {self.path} (not a folder); train one with `charloom train`")
        if not self.run_json.exists():
            raise RunError(f"{self.path} is not a charloom run (no run.json)")
        try:
            info = json.loads(self.run_json.read_text(encoding="utf-8"))
            version = int(info["format_version"])
            for section, key, kind in SHAPE:
                if not isinstance(info[section][key] if key else info[section], kind):
                    raise TypeError(f"{section}{'.' + key if key else ''} is not a {kind.__name__}")
            if info["data"]["format"] not in FORMATS:
                raise ValueError(f"data.format is {info['data']['format']!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise RunError(
                f"{self.run_json} is damaged ({type(exc).__name__}: {str(exc)[:120]}); retrain the run"
            ) from None
        if version > FORMAT_VERSION:
            raise RunError(
                f"{self.path} was written by a newer charloom (run format {version}, this one reads "
                f"{FORMAT_VERSION}); upgrade charloom"
            )
        return info

    def write_info(self, info: dict) -> None:
        atomic_write_json(self.run_json, info)

    # -- starting and resuming ---------------------------------------------------------
    def check_new(self, force: bool = False) -> None:
        """Refuse, before anything is written, a folder a new run cannot go into: a file, or a
        folder that holds something already (unless ``force``, which replaces charloom's own
        files and leaves every other file alone)."""
        if self.path.exists() and not self.path.is_dir():
            raise CharloomError(f"--out {self.path} is a file, not a folder; pick another --out")
        if force or not self.path.exists():
            return
        held = [entry.name for entry in self.path.iterdir() if entry.name != LOCK_FILE]
        if self.RUN_JSON in held:
            raise CharloomError(
                f"{self.path} already holds a run; use --resume to continue it, --force to replace "
                "it, or --out to pick another folder"
            )
        if held:
            raise CharloomError(
                f"{self.path} holds files that are not a charloom run ({held[0]!r} among them); give "
                "an empty or new folder with --out, or --force to write the run beside them (only "
                "charloom's own files are ever replaced)"
            )

    def claim(self) -> RunLock:
        """The folder, made if need be and held for one trainer (``with run_dir.claim():``):
        a second trainer on the same folder is refused instead of interleaving its writes."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CharloomError(f"cannot create the run folder {self.path}: {exc.strerror or exc}") from None
        return RunLock(self.path / LOCK_FILE)

    def prepare(self, force: bool = False) -> None:
        """Ready a claimed folder for a new run: with ``force``, charloom's own files of an
        earlier run go (nobody else's); the splits' folder is made."""
        self.check_new(force)
        if force:
            for name in self.OWN_FILES:
                (self.path / name).unlink(missing_ok=True)
            remove_stale_temps(self.path)
            for folder in self.OWN_FOLDERS:
                shutil.rmtree(self.path / folder, ignore_errors=True)
        try:
            (self.path / "data").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CharloomError(f"cannot create the run folder {self.path}: {exc.strerror or exc}") from None

    def check_resumable(self) -> None:
        """A run killed before its first checkpoint has nothing to resume: say so, and how
        to start it again, rather than a complaint about a missing file."""
        if not self.run_json.exists() or not self.state_path.exists():
            raise CharloomError(
                f"{self.path} has nothing to resume (training stopped before its first checkpoint, or "
                "it is not a run); start it again with --force"
            )

    # -- the splits ---------------------------------------------------------------------
    def write_splits(self, splits: Any, fmt: str) -> None:
        if splits.streamed is not None:  # a text too large to hold, written from its file
            splits.write_streamed(self.split_paths())
            return
        for name in SPLITS:
            parts = getattr(splits, name)
            text = "\n".join(parts) + ("\n" if fmt == "lines" and parts else "")
            atomic_write_bytes(self.split_path(name), text.encode("utf-8"))

    def split_text(self, split: str) -> str:
        """A split's file as written (every run writes all three, empty or not)."""
        if split not in SPLITS:
            raise CharloomError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        path = self.split_path(split)
        if not path.exists():
            raise RunError(f"{path} is missing: the run is damaged; retrain it")
        return read_text_file(path)

    def split_lines(self, split: str) -> list[str]:
        """A line-mode split's items, as written (empty for an empty split)."""
        return [line for line in self.split_text(split).splitlines() if line]

    def split_paths(self) -> dict[str, Path]:
        return {name: self.split_path(name) for name in SPLITS}

    def log_sizes(self) -> dict[str, int]:
        """The size of each log now, which a checkpoint records."""
        return {name: (self.path / name).stat().st_size if (self.path / name).exists() else 0
                for name in self.LOGS}  # fmt: skip

    def truncate_logs(self, sizes: dict[str, int]) -> None:
        """Cut each log back to its size at a checkpoint: the lines after it belong to work
        that a resumed run redoes."""
        for name, size in sizes.items():
            path = self.path / name
            if path.exists() and path.stat().st_size > size:
                with open(path, "r+b") as handle:
                    handle.truncate(size)

    def read_metrics(self) -> list[dict[str, Any]]:
        """The lines of metrics.jsonl, one per evaluation; [] when there are none. A line cut
        short by a crash is skipped, as ``read_diagnostics`` skips one."""
        path = self.path / self.METRICS
        if not path.exists():
            return []
        metrics = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                metrics.append(json.loads(line))
            except ValueError:
                continue
        return metrics

    def read_samples(self) -> list[LoggedSample]:
        """The samples taken during training, in the order written; [] when none were."""
        path = self.path / self.SAMPLES
        if not path.exists():
            return []
        samples = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            step, _, rest = line.partition("\t")
            escaped, _, seen = rest.partition("\t")
            try:
                samples.append(LoggedSample(int(step), json.loads(f'"{escaped}"'), seen or None))
            except ValueError:
                raise RunError(
                    f"{path} line {number} is not 'step<TAB>sample'; the run's samples file is damaged"
                ) from None
        return samples


def read_run_json(path: str | Path) -> dict:
    return RunDir(path).read_info()


def new_run_info(
    name: str, family: str, config: Any, parameters: int, train: dict, data: dict, vocab: Vocab
) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "charloom_version": __version__,
        "name": name,
        "model": {"family": family, "config": config_to_dict(config), "parameters": parameters},
        "train": train,
        "data": data,
        "vocab": vocab.to_json(),
        "status": {"state": "created", "step": 0},
    }


def default_out(family: str, source: str, root: Path = Path("runs")) -> Path:
    """runs/<family>-<data>, numbered when taken, so a second run never replaces a first."""
    stem = Path(source).stem if Path(source).suffix else Path(source).name
    base = root / f"{family}-{stem}"
    candidate, number = base, 2
    while candidate.exists():
        candidate = root / f"{base.name}-{number}"
        number += 1
    return candidate
