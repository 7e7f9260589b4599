"""Running text at equal wall time: charloom's text default against nanoGPT.

Each tool learns from the same file for the same training time at the same threads, one
after the other, and all are scored on the same held-out tail: the test split of
charloom's run (the last 5% of the file), which none trains on and charloom does not
select on.

- charloom: ``charloom train FILE --format text --time-budget S`` with no model options
  (the text default, whatever it is at this commit), and ``--dtype`` if given.
- nanoGPT, twice: its own ``train.py`` from the checkout given by ``--nanogpt``, run as a
  subprocess with its own data preparation (``data/shakespeare_char/prepare.py``, a
  90/10 cut) on a copy of the same file. First with the CPU config of its README (4
  layers, 128 wide, context 64, batch 12, no dropout); then at charloom's own depth,
  width, heads, context, dropout, batch and (AdamW) peak rate, read from charloom's run,
  so that the margin left is the recipe and the implementation, not the choice of
  hyperparameters. ``--nanogpt-args`` adds options to both. Its ``max_iters`` and
  ``lr_decay_iters`` are set to what fits the budget at the iteration rate of a short
  probe, so its schedule ends when its time does, as charloom's does; a run whose time
  misses the budget by over 5% is run again at its own measured rate. Its best
  checkpoint (by its own val) is then scored on the tail with its own ``model.py``, in
  consecutive blocks of its context, as charloom scores its test split. nanoGPT trains
  in float32 on a CPU whatever its ``--dtype``.

    python scripts/fetch_text.py                       # data/text.txt, the Shakespeare file
    python bench/text.py --budget 300 --budget 600 --dtype float32 --nanogpt ~/src/nanoGPT
    python bench/text.py --budget 600 --nanogpt ~/src/nanoGPT --corpus python-stdlib
    python bench/text.py --budget 300 --nanogpt ~/src/nanoGPT --corpus input.txt   # any file
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import REPO, charloom_json, charloom_train, cpu_class, report, scratch

from charloom.data.splits import split_text
from charloom.device import resolve_device, resolve_dtype

NANOGPT_CPU = [  # nanoGPT README, "I only have a macbook": the CPU run of shakespeare_char
    "--device=cpu",
    "--compile=False",
    "--eval_iters=20",
    "--log_interval=1",
    "--block_size=64",
    "--batch_size=12",
    "--n_layer=4",
    "--n_head=4",
    "--n_embd=128",
    "--dropout=0.0",
    "--dtype=float32",
]
EVAL_INTERVAL = 250  # config/train_shakespeare_char.py's, which the CPU run keeps
TIME_TOLERANCE = 0.05  # how far nanoGPT's training seconds may miss the budget
ITER_LINE = re.compile(r"^iter (\d+): loss [\d.]+, time ([\d.]+)ms")


def charloom_run(corpus: Path, budget: float, out: Path, extra: list[str], threads: int) -> tuple[dict, dict]:
    """charloom's row, and its run.json (whose settings the second nanoGPT run takes)."""
    started = time.perf_counter()
    options = ["--format", "text", "--time-budget", str(budget), *extra]
    result, info = charloom_train(corpus, out, options, threads)
    model, train = info["model"], info["train"]
    shown = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "hidden", "embedding")
    muon = f" muon_lr={train['muon_lr']:g}" if train.get("optimizer") == "muon" else ""
    row = {
        "tool": "charloom",
        "config": f"{model['family']} "
        + " ".join(f"{k}={v}" for k, v in model["config"].items() if k in shown)
        + f" batch={train['batch_size']} {train.get('optimizer', 'adamw')} lr={train['lr']:g}{muon} "
        + precision(train["dtype"], train["device"]),
        "train_s": result["train_seconds"],
        "steps": result["step"],
        "wall_s": round(time.perf_counter() - started, 1),
        # the whole tail, as nanoGPT's is read: a run's own closing figure is an estimate on
        # a large split, and `charloom eval` reads all of it
        "tail_nll": charloom_json("eval", str(out), "--split", "test")["nll"],
    }  # fmt: skip
    return row, info


def nanogpt_at(info: dict) -> list[str]:
    """nanoGPT's options for charloom's own settings: depth, heads, width, context, dropout,
    batch and peak rate (AdamW's), its floor a tenth of the peak as charloom's is."""
    model, train = info["model"]["config"], info["train"]
    return [
        f"--n_layer={model['n_layer']}", f"--n_head={model['n_head']}", f"--n_embd={model['n_embd']}",
        f"--block_size={model['block_size']}", f"--dropout={model['dropout']}",
        f"--batch_size={train['batch_size']}", f"--learning_rate={train['lr']:g}",
        f"--min_lr={train['lr'] / 10:g}",
    ]  # fmt: skip


def precision(dtype: str, device: str) -> str:
    """The precision a run trained in, with what ``auto`` chose on this machine."""
    if dtype != "auto":
        return dtype
    chosen = resolve_dtype(dtype, resolve_device(device))
    return f"auto ({str(chosen).removeprefix('torch.')} here)"


def nanogpt_prepare(nanogpt: Path, corpus: Path, work: Path) -> None:
    """nanoGPT's own character preparation, run on a copy of the corpus."""
    data = work / "data" / "charloom_text"
    data.mkdir(parents=True)
    shutil.copy(corpus, data / "input.txt")
    shutil.copy(nanogpt / "data" / "shakespeare_char" / "prepare.py", data / "prepare.py")
    shutil.copy(nanogpt / "configurator.py", work / "configurator.py")  # train.py reads it from cwd
    subprocess.run([sys.executable, str(data / "prepare.py")], check=True, capture_output=True, cwd=work)


def nanogpt_train(nanogpt: Path, work: Path, iters: int, extra: list[str], env: dict, limit: float):
    command = [
        sys.executable, str(nanogpt / "train.py"), str(nanogpt / "config" / "train_shakespeare_char.py"),
        "--dataset=charloom_text", "--out_dir=out", *NANOGPT_CPU,
        f"--max_iters={iters}", f"--lr_decay_iters={iters}", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=work, env=env, timeout=limit)
        log = done.stdout
        if done.returncode != 0:
            raise SystemExit(f"nanoGPT train.py failed: {done.stderr.strip()[-500:]}")
    except subprocess.TimeoutExpired as stopped:
        log = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
    wall = time.perf_counter() - started
    times = [(int(m[1]), float(m[2])) for m in map(ITER_LINE.match, log.splitlines()) if m]
    return times, wall, log


def nanogpt_iteration_ms(times: list[tuple[int, float]], eval_interval: int = EVAL_INTERVAL) -> float:
    """The median time of a training iteration, the ones that follow an eval left out."""
    return statistics.median(ms for it, ms in times[5:] if it % eval_interval != 0)


def nanogpt_training_seconds(times: list[tuple[int, float]], eval_interval: int = EVAL_INTERVAL) -> float:
    """Its iterations' summed times with its evals left out, as charloom's training seconds
    leave out charloom's: an iteration that follows an eval counts at the median's time."""
    median = nanogpt_iteration_ms(times, eval_interval)
    return sum(median if it % eval_interval == 0 else ms for it, ms in times) / 1000


def nanogpt_tail_nll(nanogpt: Path, work: Path, tail: str) -> float:
    """nanoGPT's best checkpoint, with its own model.py, on the tail: mean NLL per character
    of tail[1:], read in consecutive blocks of its context (each from the block's start)."""
    spec = importlib.util.spec_from_file_location("nanogpt_model", nanogpt / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = work / "out" / "ckpt.pt"
    if not saved.exists():  # it saves at its evals only, the first after EVAL_INTERVAL iterations
        raise SystemExit(f"nanoGPT saved no checkpoint: the budget ran out before iteration {EVAL_INTERVAL}")
    checkpoint = torch.load(saved, map_location="cpu", weights_only=False)
    model = module.GPT(module.GPTConfig(**checkpoint["model_args"]))
    state = {k.removeprefix("_orig_mod."): v for k, v in checkpoint["model"].items()}
    model.load_state_dict(state)
    model.eval()
    with open(work / "data" / "charloom_text" / "meta.pkl", "rb") as handle:
        stoi = pickle.load(handle)["stoi"]
    ids = torch.tensor([stoi[ch] for ch in tail], dtype=torch.long)
    block, total, count = checkpoint["model_args"]["block_size"], 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, block):
            x = ids[start : start + block][None]
            y = ids[start + 1 : start + block + 1][None]
            x = x[:, : y.shape[1]]
            logits, _ = model(x, y)
            total += float(torch.nn.functional.cross_entropy(logits[0], y[0], reduction="sum"))
            count += y.shape[1]
    return total / count


def nanogpt_run(
    nanogpt: Path, corpus: Path, budget: float, tail: str, extra: list[str], threads: int, label: str
) -> dict:
    work = scratch()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    nanogpt_prepare(nanogpt, corpus, work)
    probe, _, _ = nanogpt_train(nanogpt, work, 60, ["--eval_interval=1000", *extra], env, limit=600)
    per_iter = nanogpt_iteration_ms(probe) / 1000
    for _attempt in range(3):
        # Its schedule decays to max_iters, so the run's length is fixed up front from the
        # rate last seen; a run that missed the budget by more than TIME_TOLERANCE is run
        # again at its own mean rate, so that neither tool gets the other's time.
        iters = max(100, int(budget / per_iter))
        shutil.rmtree(work / "out", ignore_errors=True)
        times, wall, log = nanogpt_train(nanogpt, work, iters, extra, env, limit=budget * 1.5 + 120)
        if not times:
            raise SystemExit(f"nanoGPT train.py printed no iterations: {log.strip()[-300:]}")
        trained = nanogpt_training_seconds(times)
        if abs(trained / budget - 1) <= TIME_TOLERANCE:
            break
        per_iter = trained / len(times)
    vals = [float(v) for v in re.findall(r"val loss ([\d.]+)", log)]
    return {
        "tool": "nanoGPT",
        "config": f"{label} (at {checkout_commit(nanogpt)})",
        "train_s": round(trained, 1),
        "steps": times[-1][0],
        "wall_s": round(wall, 1),
        "tail_nll": nanogpt_tail_nll(nanogpt, work, tail),
        "own_best_val": min(vals) if vals else None,
    }


def checkout_commit(folder: Path) -> str:
    """The commit of the nanoGPT checkout, so that a row says which nanoGPT it ran."""
    done = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "an unknown commit"


def corpus_file(name: str) -> Path:
    """A corpus by name (shakespeare: data/text.txt; a built text such as python-stdlib),
    or any text file by its path."""
    if Path(name).is_file():
        return Path(name)
    if name == "shakespeare":
        path = REPO / "data" / "text.txt"
        if not path.exists():
            raise SystemExit("no data/text.txt: run `python scripts/fetch_text.py` first")
        return path
    from charloom.data.built import BUILT

    if name not in BUILT:
        raise SystemExit(f"unknown corpus {name!r}: shakespeare, one of {', '.join(BUILT)}, or a file")
    path = scratch() / f"{name}.txt"  # a plain file, so that nanoGPT's preparation can read it
    path.write_text(BUILT[name]["build"](), encoding="utf-8")
    return path


README_CPU = "README CPU config: 4 layers, n_embd 128, block 64, batch 12, dropout 0"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, action="append", help="seconds of training (repeatable; 300, 600)")
    p.add_argument(
        "--nanogpt", type=Path, help="a nanoGPT checkout (its train.py, model.py, configurator.py)"
    )
    p.add_argument(
        "--corpus", default="shakespeare", help="shakespeare (data/text.txt), python-stdlib, or a text file"
    )
    p.add_argument("--dtype", help="charloom's --dtype (default: the text default's, auto)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--charloom-args", default="", help="extra options for charloom train (a sweep)")
    p.add_argument("--nanogpt-args", default="", help="extra options for both of nanoGPT's runs")
    p.add_argument("--only", choices=("charloom", "nanogpt"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--write", metavar="FILE.md")
    args = p.parse_args()
    if args.only != "charloom" and (args.nanogpt is None or not (args.nanogpt / "train.py").exists()):
        raise SystemExit("--nanogpt DIR must be a nanoGPT checkout (with train.py); or --only charloom")
    torch.set_num_threads(args.threads)
    corpus = corpus_file(args.corpus)
    name = corpus.stem if Path(args.corpus).is_file() else args.corpus
    tail = split_text(corpus.read_text(encoding="utf-8")).test[0]  # charloom's text cut: the last 5%
    extra = args.charloom_args.split() + (["--dtype", args.dtype] if args.dtype else [])
    theirs = args.nanogpt_args.split()
    rows = []

    def add(row: dict) -> dict:
        rows.append({"corpus": name, **row})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        return rows[-1]

    for budget in args.budget or [300.0]:
        ours, info = {}, None
        if args.only != "nanogpt":
            out = scratch() / "run"
            row, info = charloom_run(corpus, budget, out, extra, args.threads)
            if (out / "data" / "test.txt").read_text(encoding="utf-8") != tail:
                raise SystemExit("charloom's test split is not the last 5% of the file: the tails differ")
            ours = add({"budget_s": budget, **row})
        if args.only == "charloom":
            continue
        runs = [(README_CPU, theirs)]
        if info is not None:
            runs.append(("at charloom's settings: " + " ".join(nanogpt_at(info)), nanogpt_at(info) + theirs))
        for number, (label, options) in enumerate(runs):
            row = nanogpt_run(args.nanogpt, corpus, budget, tail, options, args.threads, label)
            add({"budget_s": budget, **row})
            if ours:
                ours["minus_nanogpt" if number == 0 else "minus_nanogpt_same"] = (
                    ours["tail_nll"] - row["tail_nll"]
                )
    notes = (
        "tail_nll: nats per character on the test split of charloom's run (the last 5% of the file), "
        "read in consecutive blocks of each model's context. minus_nanogpt: charloom's tail NLL less "
        "nanoGPT's README CPU config's at the same budget; minus_nanogpt_same: less nanoGPT's at "
        "charloom's own settings. train_s: training seconds, evals left out (nanoGPT's: its summed "
        "iteration times; its iterations are fitted to the budget from a probe's rate, and refitted "
        "from the run's own rate when they miss it by over 5%). own_best_val: nanoGPT's own estimate "
        "on its 10% val."
    ) + twice_as_fast(rows)
    precision_name = args.dtype or "default"
    cpu = cpu_class()  # a sitting per kind of CPU: a step's speed, and what auto picks, follow it
    report(
        rows,
        args,
        section=f"text-{name}-{precision_name}-{cpu}",
        title=f"Running text at equal time against nanoGPT: {name}, charloom's --dtype {precision_name}, "
        f"{cpu} CPU (bench/text.py)",
        notes=notes,
    )


def twice_as_fast(rows: list[dict]) -> str:
    """A sentence setting charloom's shortest budget beside nanoGPT's README config at the
    longest, when the sitting ran both (the goal: as low in half the time)."""
    ours = {r["budget_s"]: r["tail_nll"] for r in rows if r["tool"] == "charloom"}
    readme = {
        r["budget_s"]: r["tail_nll"] for r in rows if r["tool"] == "nanoGPT" and README_CPU in r["config"]
    }
    if len(ours) < 2 or max(readme, default=None) != max(ours):
        return ""
    short, long = min(ours), max(ours)
    return (
        f" Half the time: charloom at {short:g} s {ours[short]:.4f} against nanoGPT's README config at "
        f"{long:g} s {readme[long]:.4f} ({ours[short] - readme[long]:+.4f})."
    )


if __name__ == "__main__":
    main()
