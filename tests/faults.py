"""Fault harness: kill training at random moments and resume it; feed charloom bad input.

Used by the tests (tests/reliability) and by ``scripts/fault_table.py``, which prints the
results as a Markdown table. Everything runs the real command line (``charloom.cli.main``):
killed runs in forked children, which is ``python -m charloom`` minus the seconds of
importing torch again for every one of the twenty-odd kills; the tests also kill and
interrupt real ``python -m charloom train`` processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from charloom.cli import main
from charloom.errors import CharloomError
from charloom.io import load_tensors

TIMING = ("tokens_per_s", "train_seconds")


# -- running the command line ----------------------------------------------------------
@dataclass
class Outcome:
    code: int
    stderr: str
    killed: bool = False


def run_cli(argv: list[str]) -> Outcome:
    """``charloom ARGV`` in this process; an exception that escapes ``main`` is a crash."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except BaseException as exc:  # noqa: BLE001 - reported, not hidden: a crash is a finding
            err.write(f"CRASH {type(exc).__name__}: {exc}\n")
            code = -1
    return Outcome(code, err.getvalue())


_warm = False


def warm_up() -> None:
    """Train once in this process, so that what training loads lazily (the optimiser pulls
    in torch._dynamo: seconds on a busy machine) is loaded before forking and every
    forked child starts training at once."""
    global _warm
    if _warm:
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder) / "names.txt", names_text(50))
        folder = Path(folder)
        run_cli(
            [
                "train",
                str(folder / "names.txt"),
                "--model",
                "bigram",
                "--out",
                str(folder / "r"),
                "--max-steps",
                "2",
                "--eval-every",
                "1",
                "--num-samples",
                "1",
                "--quiet",
            ]
        )
    _warm = True


def run_forked(argv: list[str], kill_after: float | None, log: Path, limit: float = 300.0) -> Outcome:
    """``charloom ARGV`` in a forked child, SIGKILLed after ``kill_after`` seconds if it is
    still running then, and after ``limit`` seconds in any case (a stuck child fails the
    caller instead of hanging it). Fork only from a process that has run torch on one
    thread: a child forked after a parallel region can deadlock."""
    warm_up()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 99
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = sys.stderr = open(fd, "w", buffering=1, closefd=False)  # noqa: SIM115
            code = main(argv)
            sys.stderr.flush()
        finally:
            os._exit(code)
    deadline = time.monotonic() + (limit if kill_after is None else kill_after)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return Outcome(os.waitstatus_to_exitcode(status), log.read_text(errors="replace"))
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return Outcome(-signal.SIGKILL, log.read_text(errors="replace"), killed=kill_after is not None)
        time.sleep(0.002)


# -- comparing runs ----------------------------------------------------------------------
def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_tensors(path)[0]


def same_weights(a: Path, b: Path) -> bool:
    x, y = weights(a), weights(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def metrics_without_timing(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in lines]


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, to prove that nothing was overwritten."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def checkpoint_step(run: Path) -> int | None:
    """The step of the checkpoint on disk, None if there is none yet; damage raises."""
    if not (run / "state.safetensors").exists():
        return None
    return int(load_tensors(run / "state.safetensors")[1]["step"])


# -- the kill loop ------------------------------------------------------------------------
@dataclass
class KillReport:
    kills: int = 0
    before_first_checkpoint: int = 0
    restarts_with_force: int = 0
    resumes: int = 0
    events: list[str] = field(default_factory=list)


def kill_loop(
    train_argv: list[str], out: Path, kills: int, seed: int, longest: float, log: Path
) -> KillReport:
    """Train with ``train_argv`` (which names ``--out OUT``), SIGKILL it ``kills`` times
    after random delays in [0, longest) seconds, resuming after each kill, then let the
    last resume finish. A run that finishes before its kill starts over from scratch, so
    that there are always exactly ``kills`` kills. A kill before the first checkpoint
    leaves nothing to resume: ``--resume`` says so (exit 2) and the harness starts again
    with ``--force``."""
    rng = random.Random(seed)
    report = KillReport()
    started, last_seen = False, None
    while True:
        argv = [*train_argv, "--resume"] if started else [*train_argv, "--force"]
        # every fourth kill lands at the start: before run.json or the first checkpoint
        early = report.kills % 4 == 3
        delay = rng.uniform(0, 0.1 if early else longest) if report.kills < kills else None
        outcome = run_forked(argv, delay, log)
        if outcome.killed:
            report.kills += 1
            step = checkpoint_step(out)  # must load: a kill never leaves a damaged checkpoint
            if step is None:
                report.before_first_checkpoint += 1
            elif last_seen is not None and step < last_seen:
                raise AssertionError(f"checkpoint went back from step {last_seen} to {step}")
            last_seen = step
            report.events.append(f"killed after {delay:.2f}s, checkpoint at step {step}")
            started = True
            continue
        if started and outcome.code == 2 and "nothing to resume" in outcome.stderr:
            report.restarts_with_force += 1
            started = False
            continue
        if outcome.code != 0:
            raise AssertionError(f"{argv} exited {outcome.code}: {outcome.stderr[-800:]}")
        report.resumes += started
        if report.kills >= kills:
            return report
        report.events.append("finished before the kill; training again from scratch")
        started, last_seen = False, None


# -- bad input ------------------------------------------------------------------------------
@dataclass
class Case:
    """One bad input: ``argv`` is built from the work folder (and a trained run in it)."""

    name: str
    argv: Callable[[Path], list[str]]
    setup: Callable[[Path], None] = lambda work: None
    expect: str = ""  # a piece of the message


@dataclass
class Row:
    name: str
    command: str
    code: int
    message: str
    one_line: bool
    intact: bool
    expected: bool

    @property
    def ok(self) -> bool:
        return self.code == 2 and self.one_line and self.intact and self.expected


def try_case(case: Case, work: Path) -> Row:
    import shutil

    shutil.rmtree(work / "new", ignore_errors=True)
    case.setup(work)
    before = snapshot(work)
    argv = case.argv(work)
    outcome = run_cli(argv)
    after = snapshot(work)
    intact = all(after.get(name) == digest for name, digest in before.items()) and not any(
        name.endswith(".tmp") for name in after
    )
    lines = outcome.stderr.strip().splitlines()
    command = "charloom " + " ".join(a.replace(str(work), "W") for a in argv)
    message = lines[-1].replace(str(work), "W") if lines else ""
    return Row(
        case.name,
        command,
        outcome.code,
        message,
        len(lines) == 1 and "Traceback" not in outcome.stderr,
        intact,
        case.expect.lower() in outcome.stderr.lower(),
    )


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def tamper_json(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        path = work / "bad" / "run.json"
        info = json.loads(path.read_text())
        edit(info)
        path.write_text(json.dumps(info))

    return setup


def copy_run(work: Path, name: str = "bad") -> Path:
    import shutil

    target = work / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(work / "run", target)
    return target


class Marker:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickle_setup(work: Path) -> None:
    import pickle

    run = copy_run(work)
    (run / "model.safetensors").write_bytes(pickle.dumps(Marker(str(work / "UNPICKLED"))))


def names_text(count: int = 300) -> str:
    rng = random.Random(0)
    syllables = ["ka", "lo", "mi", "ne", "ra", "su", "ti", "vo", "el", "an"]
    return (
        "\n".join("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(count))
        + "\n"
    )


TINY = ["--max-steps", "2", "--eval-every", "1", "--num-samples", "1", "--quiet"]


def trained_run(work: Path) -> Path:
    """A tiny bigram run at WORK/run that the run-reading cases damage copies of."""
    write(work / "names.txt", names_text())
    if not (work / "run" / "model.safetensors").exists():
        outcome = run_cli(
            ["train", str(work / "names.txt"), "--model", "bigram", "--out", str(work / "run"), *TINY]
        )
        if outcome.code != 0:
            raise CharloomError(f"could not train the tiny run: {outcome.stderr}")
    if not (work / "tf" / "model.safetensors").exists():  # a transformer that reads 5 characters
        write(work / "short.txt", "\n".join(["kalo", "mira", "sune", "tiva", "elan", "rasu"] * 3) + "\n")
        run_cli(
            [
                "train",
                str(work / "short.txt"),
                "--model",
                "transformer",
                "--block-size",
                "6",
                "--n-embd",
                "8",
                "--n-head",
                "1",
                "--n-layer",
                "1",
                "--out",
                str(work / "tf"),
                *TINY,
            ]
        )
    return work / "run"


def train_on(content: bytes | str, *extra: str) -> tuple[Callable[[Path], None], Callable[[Path], list[str]]]:
    def setup(work: Path) -> None:
        write(work / "data.txt", content)

    def argv(work: Path) -> list[str]:
        return ["train", str(work / "data.txt"), "--out", str(work / "new"), *TINY, *extra]

    return setup, argv


def train_with(*options: str, model: str = "mlp") -> Callable[[Path], list[str]]:
    return lambda work: [
        "train",
        str(work / "names.txt"),
        "--model",
        model,
        "--out",
        str(work / "new"),
        *TINY,
        *options,
    ]


def on_bad(command: str, *extra: str) -> Callable[[Path], list[str]]:
    return lambda work: [command, str(work / "bad"), *extra]


def _case(name: str, pair, expect: str = "") -> Case:
    setup, argv = pair
    return Case(name, argv, setup, expect)


CASES: list[Case] = [
    _case(
        "missing data file",
        (lambda w: None, lambda w: ["train", str(w / "nope.txt"), "--out", str(w / "new")]),
        "no such file",
    ),
    _case("empty data file", train_on(b""), "no items"),
    _case("whitespace-only data file", train_on(b"  \n\t\n"), "no items"),
    _case("binary data file", train_on(b"\x00\x01\x02\x03binary"), "binary"),
    _case("non-UTF-8 data file", train_on(b"caf\xe9\n"), "not UTF-8"),
    _case("10 MB single line (line mode)", train_on(b"ab" * 5_000_000), "--format text"),
    _case("one-character corpus", train_on(b"a\n"), "too few"),
    _case("one-character text", train_on(b"a", "--format", "text"), "too short"),
    Case("--max-steps 0", train_with("--max-steps", "0"), expect="--max-steps"),
    Case("--batch-size -1", train_with("--batch-size", "-1"), expect="--batch-size"),
    Case("--lr nan", train_with("--lr", "nan"), expect="--lr"),
    Case("--time-budget 0", train_with("--time-budget", "0"), expect="--time-budget"),
    Case("--hidden 0", train_with("--hidden", "0"), expect="--hidden"),
    Case(
        "--n-head 3 with --n-embd 64",
        train_with("--n-head", "3", "--n-embd", "64", model="transformer"),
        expect="n-head",
    ),
    Case("--dropout 1.5", train_with("--dropout", "1.5", model="gru"), expect="--dropout"),
    Case("--eval-every -5", train_with("--eval-every", "-5"), expect="--eval-every"),
    Case(
        "item longer than the transformer block",
        train_with("--block-size", "4", "--n-embd", "8", "--n-head", "1", model="transformer"),
        expect="--block-size",
    ),
    Case(
        "prefix longer than the transformer block",
        lambda w: ["sample", str(w / "tf"), "--prefix", "kalomi"],
        expect="at most 5",
    ),
    Case(
        "scored item longer than the transformer block",
        lambda w: ["eval", str(w / "tf"), str(w / "score-tf.txt")],
        setup=lambda w: write(w / "score-tf.txt", "kalomira\n"),
        expect="at most 5",
    ),
    Case(
        "existing run without --resume/--force",
        lambda w: ["train", str(w / "names.txt"), "--model", "bigram", "--out", str(w / "run"), *TINY],
        expect="--resume",
    ),
    Case(
        "--resume on a folder with no run",
        lambda w: ["train", "--resume", "--out", str(w / "empty")],
        setup=lambda w: (w / "empty").mkdir(exist_ok=True),
        expect="nothing to resume",
    ),
    Case(
        "--temperature -1",
        lambda w: ["sample", str(w / "run"), "--temperature", "-1"],
        expect="--temperature",
    ),
    Case("-n 0", lambda w: ["sample", str(w / "run"), "-n", "0"], expect="-n"),
    Case("--top-k 0", lambda w: ["sample", str(w / "run"), "--top-k", "0"], expect="--top-k"),
    Case(
        "unseen character in a prefix", lambda w: ["sample", str(w / "run"), "--prefix", "Zq"], expect="'Z'"
    ),
    Case(
        "unseen character in a scored item",
        lambda w: ["eval", str(w / "run"), str(w / "score.txt")],
        setup=lambda w: write(w / "score.txt", "kalo\nka#lo\n"),
        expect="'#'",
    ),
    Case(
        "newer run format version",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i.update(format_version=99))(w)),
        expect="newer charloom",
    ),
    Case(
        "run.json invalid JSON",
        on_bad("sample"),
        setup=lambda w: write(copy_run(w) / "run.json", "{not json"),
        expect="damaged",
    ),
    Case(
        "run.json missing keys",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i.pop("vocab"))(w)),
        expect="damaged",
    ),
    Case(
        "run.json wrong types",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i.update(model=["bigram"]))(w)),
        expect="damaged",
    ),
    Case(
        "run.json config with unknown key",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i["model"]["config"].update(bogus=1))(w)),
        expect="bogus",
    ),
    Case(
        "run.json config with absurd value",
        on_bad("sample"),
        setup=lambda w: (
            copy_run(w),
            tamper_json(lambda i: i["model"].update(family="mlp", config={"context": -3}))(w),
        ),
        expect="--context",
    ),
    Case(
        "run.json unknown family",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i["model"].update(family="nope"))(w)),
        expect="unknown model family",
    ),
    Case(
        "vocab does not match the weights",
        on_bad("sample"),
        setup=lambda w: (copy_run(w), tamper_json(lambda i: i["vocab"].update(chars="ab"))(w)),
        expect="does not match",
    ),
    Case(
        "truncated model.safetensors",
        on_bad("sample"),
        setup=lambda w: write(
            copy_run(w) / "model.safetensors", (w / "run" / "model.safetensors").read_bytes()[:100]
        ),
        expect="safetensors",
    ),
    Case(
        "corrupt model.safetensors",
        on_bad("sample"),
        setup=lambda w: write(copy_run(w) / "model.safetensors", os.urandom(256)),
        expect="safetensors",
    ),
    Case("pickle renamed to .safetensors", on_bad("sample"), setup=pickle_setup, expect="safetensors"),
    Case("--device cuda without a GPU", train_with("--device", "cuda"), expect="--device"),
    Case("--device tpu", lambda w: ["sample", str(w / "run"), "--device", "tpu"], expect="--device"),
    Case("--dtype float16 on the CPU", train_with("--device", "cpu", "--dtype", "float16"), expect="float16"),
    Case("--min-p 2", lambda w: ["sample", str(w / "run"), "--min-p", "2"], expect="--min-p"),
    Case(
        "--bad-words that hit the prefix",
        lambda w: ["sample", str(w / "run"), "--prefix", "ka", "--bad-words", str(w / "bad-words.txt")],
        setup=lambda w: write(w / "bad-words.txt", "ka\n"),
        expect="--bad-words",
    ),
    Case(
        "--stream with --json", lambda w: ["sample", str(w / "run"), "--stream", "--json"], expect="--stream"
    ),
    Case(
        "--stream with --regex",
        lambda w: ["sample", str(w / "run"), "--stream", "--regex", "a"],
        expect="--stream",
    ),
    Case("compare a folder that is no run", lambda w: ["compare", str(w)], expect="neither a run"),
    Case(
        "compare --output not .html",
        lambda w: ["compare", str(w / "run"), "--output", str(w / "x.txt")],
        expect=".html",
    ),  # fmt: skip
    Case(
        "a study file that is not TOML",
        lambda w: ["study", str(w / "s.toml"), "--out", str(w / "st")],
        setup=lambda w: write(w / "s.toml", "name = ["),
        expect="TOML",
    ),  # fmt: skip
    Case(
        "a study with no runs",
        lambda w: ["study", str(w / "s.toml"), "--out", str(w / "st")],
        setup=lambda w: write(w / "s.toml", "[shared]\nmodel = 'mlp'\n"),
        expect="[[runs]]",
    ),  # fmt: skip
    Case("--lr-schedule not from step 0", train_with("--lr-schedule", "5:0.1"), expect="--lr-schedule"),
    Case(
        "data --by-category on names without categories",
        lambda w: ["data", str(w / "names.txt"), "--by-category"],
        expect="category",
    ),  # fmt: skip
    Case("transfer --cut 3x", lambda w: ["transfer", str(w / "run"), "--cut", "3x"], expect=""),
    Case(
        "truncated state.safetensors on --resume",
        lambda w: ["train", "--resume", "--out", str(w / "bad")],
        setup=lambda w: write(
            copy_run(w) / "state.safetensors", (w / "run" / "state.safetensors").read_bytes()[:300]
        ),
        expect="safetensors",
    ),
]


HELD: list = []  # locks held for the rest of the process, as by a trainer that is still running


def hold_lock(work: Path) -> None:
    from charloom.rundir import RunDir

    HELD.append(RunDir(copy_run(work, "locked")).claim().__enter__())


CARELESS: list[Case] = [
    Case(
        "--out names an existing file",
        lambda w: ["train", str(w / "names.txt"), "--out", str(w / "names.txt"), *TINY],
        expect="is a file",
    ),
    Case(
        "--out a folder of the user's own files",
        lambda w: ["train", str(w / "names.txt"), "--out", str(w / "mine"), *TINY],
        setup=lambda w: write(w / "mine" / "thesis.tex", "do not lose me"),
        expect="not a charloom run",
    ),
    Case(
        "a second trainer on a run being trained",
        lambda w: ["train", str(w / "names.txt"), "--out", str(w / "locked"), "--force", *TINY],
        setup=hold_lock,
        expect="being trained by another process",
    ),
    Case(
        "absurd model size on the command line",
        train_with("--n-embd", "10000000", "--n-head", "1", model="transformer"),
        expect="parameters",
    ),
    Case(
        "run.json asking for absurd sizes",
        on_bad("sample"),
        setup=lambda w: (
            copy_run(w),
            tamper_json(
                lambda i: i["model"].update(
                    family="transformer", config={"n_embd": 1_048_576, "n_layer": 4_096, "n_head": 1}
                )
            )(w),
        ),
        expect="parameters",
    ),
    Case(
        "run.json config value of the wrong type",
        on_bad("sample"),
        setup=lambda w: (
            copy_run(w),
            tamper_json(lambda i: i["model"].update(family="mlp", config={"hidden": "many"}))(w),
        ),
        expect="must be int",
    ),
    Case(
        "--max-new-tokens 10^12",
        lambda w: ["sample", str(w / "run"), "--max-new-tokens", "1000000000000"],
        expect="GB",
    ),
    Case(
        "--num-beams 10^11",
        lambda w: ["sample", str(w / "run"), "-n", "2", "--num-beams", "100000000000"],
        expect="beams",
    ),
    Case(
        "control characters in a prefix",
        lambda w: ["sample", str(w / "run"), "--prefix", "a\x1eb\u2028c"],
        expect="\\x1e",
    ),
    Case(
        "a file name too long",
        lambda w: ["train", "x" * 3000, "--out", str(w / "new"), *TINY],
        expect="too long",
    ),
    Case(
        "--plot that is not a .png",
        lambda w: ["init-sim", "--depth", "3", "--plot", str(w / "names.txt")],
        expect=".png",
    ),
]
CASES += CARELESS


def bad_input_rows(work: Path, cases: list[Case] | None = None) -> list[Row]:
    trained_run(work)
    return [try_case(case, work) for case in (cases or CASES)]
