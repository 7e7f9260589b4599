"""The fuzzer of every entry point a user reaches, shared by tests/reliability/test_fuzz_cli.py
and scripts/fault_table.py.

Command lines are drawn from the ``charloom`` parser itself, so a new option is fuzzed the
day it is added: every flag of every command, each given or not, with values of its type
and outside it (out-of-range and absurd numbers, nan, empty, huge and odd-Unicode strings,
missing, binary and empty files). Options whose value is the amount of work (steps,
seconds, items) are drawn small, so that each case ends in seconds; a case that does not
end within ``TIMEOUT`` seconds is a hang. Every case must end in success or in a one-line
``charloom: error:`` with exit code 2, never a traceback, and change no file that was there
before it (charloom's own reports in a run folder aside).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from charloom.api import train
from charloom.cli import build_parser, main
from charloom.models.registry import FAMILIES

TIMEOUT = 60  # seconds a case may take before it counts as a hang
REPORTS = ("report.html", "samples.html", "plots")  # what charloom writes into a run on request

WORK = {  # the amount of work: small, so that a case ends in seconds
    "--max-steps": st.integers(1, 3),
    "--time-budget": st.sampled_from(["0.05", "0.3"]),
    "-n": st.integers(1, 25),
    "--budget": st.integers(1, 300),
    "--max-new-tokens": st.integers(1, 40),
    "--best-of": st.integers(1, 3),
    "--refine": st.integers(0, 2),
    "--num-beams": st.integers(1, 4),
    "--samples": st.integers(1, 2),
    "--max-names": st.integers(1, 2),
    "--classifier-steps": st.integers(1, 3),
    "--depth": st.integers(1, 12),
    "--width": st.integers(1, 32),
    "--batch": st.integers(1, 16),
    "--max-chars": st.integers(1, 300),
    "--eval-every": st.integers(1, 3),
    "--checkpoint-every": st.integers(1, 3),
    "--threads": st.integers(1, 2),
    "--batch-size": st.integers(1, 64),
    "--num-samples": st.integers(0, 3),
    "--diagnostics": st.integers(1, 3),
    "--top": st.integers(1, 5),
}
REFUSED_WHEN_HUGE = {"--max-new-tokens", "--num-beams"}  # absurd values of these are refused at once
SIZES = {"--n", "--context", "--embedding", "--hidden", "--n-layer", "--n-head", "--n-embd", "--block-size"}
FILES = {"data", "--val-file", "--test-file", "--text", "--exclude", "--file"}
OUTPUTS = {"--output", "--plot", "--embeddings", "--samples-timeline"}
FREE_OUTPUTS = {("sample", "--output"), ("transfer", "--output")}  # any file name is a valid one
RUNS = {"run", "runs"}

ODD = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))  # argv cannot hold NUL
TEXT = st.one_of(
    st.text(ODD, max_size=12),
    st.sampled_from(["", " ", "ma", "anna", "é", "ß", "\u202e", "名前", "-", "--", "a" * 3000]),
)
NUMBER = st.one_of(
    st.integers(-3, 60),
    st.sampled_from([-(2**63), 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
).map(str)


@dataclass
class Work:
    """The folder every case runs against: data files, trained runs and a run group, all
    protected (a case must not change them), and a folder for outputs."""

    root: Path
    paths: dict[str, Path] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return str(self.paths[name])

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"


def make_work(root: Path, names: list[str], text: str) -> Work:
    """Write the data files and train the runs the cases use (a few seconds)."""
    work = Work(root)
    data = root / "data"
    data.mkdir(parents=True)
    files = {
        "names": "\n".join(names) + "\n",
        "text": text,
        "empty": "",
        "blank": "\n \n\t\n",
        "crlf": "\r\n".join(names[:50]) + "\r\n",
        "bom": "\ufeff" + "\n".join(names[:50]),
        "one": "a\n",
        "categories": "".join(f"{'hard' if i % 2 else 'soft'}\t{n}\n" for i, n in enumerate(names)),
    }
    for name, content in files.items():
        work.paths[name] = data / f"{name}.txt"
        work.paths[name].write_text(content, encoding="utf-8")
    work.paths["binary"] = data / "binary.txt"
    work.paths["binary"].write_bytes(bytes(range(256)) * 4)
    work.paths["latin1"] = data / "latin1.txt"
    work.paths["latin1"].write_bytes("café\nnaïve\n".encode("latin-1"))
    work.paths["missing"] = data / "missing.txt"
    work.paths["folder"] = data
    quiet = {"log": lambda message: None, "num_samples": 0}
    runs = root / "runs"
    train(work.paths["names"], "mlp", out=runs / "mlp", max_steps=20, eval_every=10, **quiet)
    train(work.paths["names"], "transformer", out=runs / "tf", max_steps=10, eval_every=10,
          model_options={"n_layer": 1, "n_embd": 16, "n_head": 2}, **quiet)  # fmt: skip
    train(work.paths["text"], "gru", out=runs / "text", format="text", max_steps=10, eval_every=10,
          model_options={"hidden": 16, "n_layer": 1}, **quiet)  # fmt: skip
    for name in ("mlp", "tf", "text"):
        work.paths[f"run:{name}"] = runs / name
    from charloom.transfer.group import train_group

    train_group(work.paths["categories"], "ngram", out=root / "group", model_options={"n": 3},
                log=lambda m: None)  # fmt: skip
    work.paths["group"] = root / "group"
    work.outputs.mkdir()
    return work


# -- command lines --------------------------------------------------------------------------
SERVERS = {"serve"}  # runs until stopped: its bad input is tested in tests/serve


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p for name, p in sub.choices.items() if name not in SERVERS}


def argv_for(command: str, work: Work) -> st.SearchStrategy[list[str]]:
    """Command lines for ``command``: its positionals, and each of its flags or not."""
    parts = []
    for action in commands()[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        tokens = _tokens(command, action, work)
        if not action.option_strings:
            parts.append(tokens if action.nargs not in ("?", "*") else st.one_of(st.just([]), tokens))
            continue
        flags = st.sampled_from(action.option_strings)
        given = st.tuples(flags, tokens).map(lambda pair: [pair[0], *pair[1]])
        parts.append(st.one_of(st.just([]), st.just([]), given))
    return st.tuples(*parts).map(lambda chosen: [command] + [t for part in chosen for t in part])


def _tokens(command: str, action: argparse.Action, work: Work) -> st.SearchStrategy[list[str]]:
    """What follows a flag (or stands for a positional): a list of argv words."""
    if action.nargs == 0:
        return st.just([])
    name = action.option_strings[0] if action.option_strings else action.dest
    one = _value(command, name, action, work)
    if action.nargs in ("+", "*"):
        return st.lists(one, min_size=1, max_size=3)
    if action.nargs == "?":
        return st.one_of(st.just([]), one.map(lambda v: [v]))
    return one.map(lambda v: [v])


def _value(command: str, name: str, action: argparse.Action, work: Work) -> st.SearchStrategy[str]:
    junk = TEXT
    if name in WORK:
        absurd = st.integers(10**9, 10**15) if name in REFUSED_WHEN_HUGE else st.nothing()
        return st.one_of(WORK[name].map(str), absurd.map(str), st.sampled_from(["0", "-1", "x"]))
    if name in SIZES:
        return st.one_of(st.integers(-2, 6), st.integers(10**7, 10**13)).map(str)
    if name in RUNS or name == "group":
        known = ["run:mlp", "run:tf", "run:text", "names", "missing", "folder", "group"]
        return st.one_of(st.sampled_from(known).map(work.path), junk)
    if name in FILES:
        known = ["names", "text", "empty", "blank", "crlf", "bom", "one", "binary", "latin1", "missing",
                 "folder", "categories"]  # fmt: skip
        return st.one_of(st.sampled_from(known).map(work.path), junk)
    if name in OUTPUTS or name == "--out":
        fresh = st.integers(0, 10**9).map(lambda i: str(work.outputs / f"o{i}"))
        # A free-named output writes over whatever file the user names, by the user's word: offer
        # it only folders. Every other output has a kind (a page, a picture, a run) that a data
        # file is not, and must refuse one.
        taken = ["run:mlp", "folder"] if (command, name) in FREE_OUTPUTS else ["names", "run:mlp", "folder"]
        return st.one_of(fresh, st.sampled_from(taken).map(work.path))
    if name == "--model":
        return st.one_of(st.sampled_from(sorted(FAMILIES)), junk)
    if name == "--score":
        specs = [
            "loglik",
            "novelty",
            "loglik_per_char:1,novelty:0.5",
            f"ratio:{work.path('run:tf')}",
            "ratio:",
        ]
        return st.one_of(st.sampled_from(specs), junk)
    if name in ("--cut",):
        return st.one_of(st.sampled_from(["0.5", "2c", "0.25,0.75", "1.5", "first-word"]), junk)
    if name in ("--categories", "--category"):
        return st.one_of(st.sampled_from(["hard", "soft", "hard,soft"]), junk)
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), junk)
    if action.type in (int, float):
        return NUMBER
    return st.one_of(junk, NUMBER)


# -- the rule every case keeps -------------------------------------------------------------------
class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(_signum, _frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, outputs and charloom's own reports left out."""
    digests = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] == "outputs" or set(relative.parts) & set(REPORTS):
            continue
        digests[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def shown(argv: list[str]) -> str:
    return "charloom " + " ".join(repr(a) if len(a) <= 60 else repr(a[:57] + "...") for a in argv)


def check(argv: list[str], work: Work) -> int:
    """Run one case and hold it to the rule; returns its exit code."""
    before = snapshot(work.root)
    err = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO(":h\n1\nma\n:t 0\n:u\n")  # what play reads, then its end
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            with time_limit(TIMEOUT):
                code = main(argv)
        except Hang as exc:
            raise AssertionError(f"{shown(argv)} hung: {exc}") from None
        except BaseException as exc:  # a traceback: the bug the fuzzer is here to find
            raise AssertionError(f"{shown(argv)} crashed: {type(exc).__name__}: {str(exc)[:300]}") from exc
        finally:
            sys.stdin = stdin
    lines = err.getvalue().strip().splitlines()
    assert code in (0, 2), f"{shown(argv)} exited {code}: {lines[-3:]}"
    if code == 2:
        assert lines and lines[-1].startswith("charloom: error:"), f"{shown(argv)}: {lines[-3:]}"
        assert "Traceback" not in err.getvalue(), f"{shown(argv)}: {err.getvalue()[-500:]}"
    changed = {name for name, digest in snapshot(work.root).items() if before.get(name, digest) != digest}
    assert not changed, f"{shown(argv)} changed {sorted(changed)}"
    return code


def tampered_runs(work: Work) -> st.SearchStrategy[tuple[str, object]]:
    """A key path of run.json and a value to put there (or None: delete it)."""
    info = json.loads((work.paths["run:tf"] / "run.json").read_text())
    keys = [(section, key) for section in ("model", "train", "data", "vocab", "status")
            for key in (info[section] if isinstance(info[section], dict) else {})]  # fmt: skip
    keys += [("model", "config", key) for key in info["model"]["config"]]
    keys += [(key,) for key in info]
    values = st.one_of(
        st.none(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True),
        st.text(ODD, max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.sampled_from([1_048_576, 4_096, 10**12, -1, 0, True]),
    )
    return st.tuples(st.sampled_from(keys), values)


def tamper(work: Work, where: tuple[str, ...], value: object) -> Path:
    """A copy of the transformer run with one run.json entry replaced (None: deleted)."""
    copy = work.outputs / f"tampered-{abs(hash((where, repr(value))))}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(work.paths["run:tf"], copy)
    info = json.loads((copy / "run.json").read_text())
    node = info
    for key in where[:-1]:
        node = node[key]
    if value is None:
        node.pop(where[-1], None)
    else:
        node[where[-1]] = value
    (copy / "run.json").write_text(json.dumps(info))
    return copy


def fuzz(strategy: st.SearchStrategy, body, examples: int) -> int:
    """Run ``body`` on ``examples`` cases drawn from ``strategy`` and return how many ran. A
    failing case fails as hypothesis fails: shrunk to the smallest case that still fails."""
    from hypothesis import HealthCheck, given, settings

    ran = [0]

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def case(value):
        ran[0] += 1
        body(value)

    case()
    return ran[0]


def corpus_files() -> st.SearchStrategy[bytes]:
    """Corpus files as a careless user has them: random bytes, a BOM, CRLF, NUL, one
    character, very long lines, odd Unicode."""
    text = st.lists(st.text(ODD, min_size=0, max_size=20), max_size=30).map("\n".join)
    return st.one_of(
        st.binary(max_size=400),
        text.map(lambda t: t.encode("utf-8")),
        text.map(lambda t: ("\ufeff" + t.replace("\n", "\r\n")).encode("utf-8")),
        text.map(lambda t: (t + "\x00" + t).encode("utf-8")),
        st.sampled_from([b"a", b"a\n", b"\n\n", b"x" * 5000, ("\u00e9" * 1200).encode("utf-8")]),
    )
