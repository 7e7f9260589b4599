"""Running a study: its runs in order, then the table, ``study.json`` and the compare page.

A run that finished is read back, one that was stopped is resumed, so a study can be
interrupted and started again with the same command. Two kinds of entry:

- a training run (the default): ``charloom.api.train`` with the run's options; its row
  holds the NLL on the whole train split (as the lectures report it), the best val and
  its test, the loss of the first step, and the activation std by layer where the run
  recorded diagnostics;
- ``kind = "init-sim"``: a stack of random layers at initialisation only
  (``inspect.diagnostics.init.simulate_init``), its row the std after the last layer, and
  all of them in one figure (``init.png``);
- ``kind = "transfer"``: a run group (``train-categories``) and its cross-seeding table for
  the ``names`` at the ``cuts``, written as ``NAME/table.md`` and ``NAME/table.html``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from charloom import io
from charloom.api import train
from charloom.errors import CharloomError, TrainingDiverged
from charloom.inspect.compare import aligned, compare_rows
from charloom.inspect.compare_page import render_compare
from charloom.inspect.diagnostics.plots import plot_init_sim, watched_layers
from charloom.inspect.diagnostics.watch import read_diagnostics
from charloom.run import Run
from charloom.rundir import RunDir, read_run_json
from charloom.study.spec import Study, StudyRun

KINDS = ("train", "init-sim", "transfer")
STUDY_KEYS = ("kind", "sample_steps")  # what a study run says besides train()'s options
TABLE_KEYS = ("names", "cuts", "best_of", "contrast", "temperature")  # a transfer entry's table


def run_study(
    study: Study,
    out: Path,
    data: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train (or read back) every run of ``study`` under ``out``; returns study.json's content."""
    out.mkdir(parents=True, exist_ok=True)
    rows, trained, simulations = [], [], []
    for number, entry in enumerate(study.runs, 1):
        kind = entry.options.get("kind", "train")
        if kind not in KINDS:
            raise CharloomError(f"study run {entry.name!r}: kind must be one of {', '.join(KINDS)}")
        log(f"[{number}/{len(study.runs)}] {entry.name}")
        if kind == "init-sim":
            row, result = simulate(entry)
            simulations.append(result)
        elif kind == "transfer":
            row = transfer_entry(entry, out / entry.name, data or study.data, log)
        else:
            path = train_entry(entry, out / entry.name, data or study.data, log)
            row = train_row(entry, path)
            trained.append(path)
        rows.append(row)
    result: dict[str, Any] = {
        "study": study.name,
        "about": study.about,
        "source": study.source,
        "data": data or study.data,
        "reference_data": study.data,
        "rows": rows,
    }
    if trained:
        page = out / "compare.html"
        io.atomic_write_bytes(
            page, render_compare(compare_rows(trained), f"study {study.name}").encode("utf-8")
        )
        result["page"] = str(page)
    if simulations:
        result["plot"] = str(plot_init_sim(simulations, out / "init.png"))
    io.atomic_write_json(out / "study.json", result)
    return result


def train_entry(entry: StudyRun, path: Path, data: str, log: Callable[[str], None]) -> Path:
    """The run in ``path``: read back when finished, resumed when stopped, else trained."""
    if (path / RunDir.RUN_JSON).exists():
        state = read_run_json(path).get("status", {}).get("state")
        if state in ("finished", "diverged"):
            log(f"  {path} is {state}; read back")
            return path
        log(f"  {path} was stopped; resuming")
        train(resume=True, out=path, log=log)
        return path
    options = {key: value for key, value in entry.options.items() if key not in STUDY_KEYS}
    model = options.pop("model", "mlp")
    model_options = options.pop("model_options", None)
    source = options.pop("data", data)
    try:
        train(source, model, out=path, model_options=model_options, log=log, **options)
    except TrainingDiverged as exc:  # a finding of the study, not its end: the row says so
        log(f"  {entry.name} diverged: {exc}")
    return path


def train_row(entry: StudyRun, path: Path) -> dict[str, Any]:
    info = read_run_json(path)
    status = info["status"]
    run = Run(path)
    metrics = RunDir(path).read_metrics()
    diagnostics = read_diagnostics(path)
    first = next((m["step_losses"][0] for m in metrics if m.get("step_losses")), None)
    if first is None:  # stopped before its first evaluation: the recorded step 0
        first = next(
            (r["loss"] for r in diagnostics if r.get("step") == 0 and r.get("loss") is not None), None
        )
    records = [r for r in diagnostics if r.get("layers")]
    row = {
        "name": entry.name,
        "run": str(path),
        "family": info["model"]["family"],
        "steps": status.get("step"),
        "train_nll": run.evaluate("train")["nll"],
        "val_nll": status.get("val_nll"),
        "test_nll": status.get("test_nll"),
        "first_loss": first,
        "initial_val": next((m["val_loss"] for m in metrics if m.get("step") == 0), None),
        "tokens_per_s": training_rate(metrics),
        "layer_std": layer_stds(records[0]) if records else None,
        "layer_std_last": layer_stds(records[-1]) if records else None,
        "update_log10": late_update_ratio(diagnostics),
        "diverged": status.get("reason") if status.get("state") == "diverged" else None,
    }
    wanted = entry.options.get("sample_steps")
    if wanted:
        logged = RunDir(path).read_samples()
        row["samples"] = {
            str(step): next((s.text for s in logged if s.step == step), None) for step in wanted
        }
    return {**row, **{f"reference_{key}": value for key, value in entry.reference.items()}}


def training_rate(metrics: list[dict[str, Any]]) -> float | None:
    """Training tokens a second over the whole run: each evaluation's window weighted by
    its training seconds."""
    windows, previous = [], 0.0
    for entry in metrics:
        seconds = entry.get("train_seconds") or 0.0
        if entry.get("tokens_per_s"):
            windows.append((entry["tokens_per_s"], seconds - previous))
        previous = seconds
    total = sum(seconds for _, seconds in windows)
    return sum(rate * seconds for rate, seconds in windows) / total if total > 0 else None


def transfer_entry(entry: StudyRun, path: Path, data: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Train the group (or read it back), then lay out its cross-seeding table."""
    from charloom.transfer.complete import parse_cuts
    from charloom.transfer.group import load_group, train_group
    from charloom.transfer.render import render
    from charloom.transfer.table import transfer_table

    options = {k: v for k, v in entry.options.items() if k not in STUDY_KEYS + TABLE_KEYS}
    table = {k: entry.options[k] for k in TABLE_KEYS if k in entry.options}
    if not table.get("names"):
        raise CharloomError(f"study run {entry.name!r}: a transfer entry needs names = [...]")
    group = load_group(path) if (path / "group.json").exists() else None
    if group is not None and "classifier" in group.info:  # trained to the end: read back
        log(f"  {path} is trained; read back")
    else:
        model = options.pop("model", "gru")
        categories = options.pop("categories", None)
        categories = categories.split(",") if isinstance(categories, str) else categories
        group = train_group(options.pop("data", data), model, out=path, categories=categories, force=True,
                            log=log, **options)  # fmt: skip
    rows = transfer_table(
        group,
        list(table["names"]),
        parse_cuts(str(table.get("cuts", "0.5"))),
        best_of=table.get("best_of"),
        contrast=float(table.get("contrast", 0.0)),
        temperature=float(table.get("temperature", 1.0)),
    )
    io.atomic_write_bytes(path / "table.md", (render(rows, "md") + "\n").encode("utf-8"))
    io.atomic_write_bytes(path / "table.html", render(rows, "html").encode("utf-8"))
    return {
        "name": entry.name,
        "family": "group",
        "classifier_accuracy": group.info["classifier"]["accuracy"],
        "table": [row.to_json() for row in rows],
        "table_text": render(rows, "text"),
    }


def late_update_ratio(diagnostics: list[dict[str, Any]]) -> float | None:
    """The median over the weight matrices of log10 update:data, each averaged over the
    second half of the recorded steps: the lecture's check that a step moves a matrix by
    about 1e-3 of its size (-3); well below it, training crawls. The median, since the
    output layer, started small, sits apart from the rest for a long time."""
    recorded = [r for r in diagnostics if r.get("updates") and r.get("params")]
    late = recorded[len(recorded) // 2 :]
    if not late:
        return None
    matrices = {p["name"] for p in late[-1]["params"] if len(p["shape"]) == 2}
    means = []
    for name in matrices:
        values = [r["updates"][name] for r in late if r["updates"].get(name) is not None]
        if values:
            means.append(sum(values) / len(values))
    return round(statistics.median(means), 3) if means else None


def layer_stds(record: dict[str, Any]) -> list[float]:
    """The std of each hidden layer's output: the nonlinearities, or in a stack of Linear
    layers every Linear but the last (the readout, which the lecture does not list)."""
    layers = [layer for layer in watched_layers(record) if layer.get("act")]
    if layers and all(layer["kind"] == "linear" for layer in layers):
        layers = layers[:-1]
    return [round(layer["act"]["std"], 4) for layer in layers]


def simulate(entry: StudyRun) -> tuple[dict[str, Any], dict[str, Any]]:
    from charloom.inspect.diagnostics.init import simulate_init

    options = {key: value for key, value in entry.options.items() if key != "kind"}
    try:
        result = simulate_init(**options).to_json()
    except TypeError as exc:
        raise CharloomError(f"study run {entry.name!r}: {exc}") from None
    result["label"] = entry.name
    row = {
        "name": entry.name,
        "family": "init-sim",
        "final_log10_std": result["log10_std"][-1],
        "log10_std_by_layer": result["log10_std"],
    }
    return row, result


COLUMNS = [
    ("run", "name", "{}"),
    ("family", "family", "{}"),
    ("steps", "steps", "{:,}"),
    ("first", "first_loss", "{:.4f}"),
    ("val at 0", "initial_val", "{:.4f}"),
    ("train", "train_nll", "{:.4f}"),
    ("val", "val_nll", "{:.4f}"),
    ("test", "test_nll", "{:.4f}"),
    ("tokens/s", "tokens_per_s", "{:,.0f}"),
    ("log10 update:data (late, median)", "update_log10", "{:.2f}"),
    ("ref: first", "reference_first_loss", "{:.4f}"),
    ("ref: train", "reference_train", "{:.4f}"),
    ("ref: val", "reference_val", "{:.4f}"),
    ("log10 std after the last layer", "final_log10_std", "{:.2f}"),
]


def format_study(result: dict[str, Any]) -> str:
    """The rows as a table, columns that no row fills left out; the reference figures beside."""
    rows = result["rows"]
    columns = [c for c in COLUMNS if any(row.get(c[1]) is not None for row in rows)]
    lines = aligned(rows, columns).splitlines()
    for row in rows:
        if row.get("layer_std"):
            stds = " ".join(f"{s:.3f}" for s in row["layer_std"])
            lines.append(f"{row['name']}: activation std by layer at step 0: {stds}")
        if row.get("diverged"):
            lines.append(f"{row['name']}: {row['diverged']}")
        for step, text in (row.get("samples") or {}).items():
            lines.append(f"{row['name']} at step {step}: {shown(text)}")
        if row.get("table_text"):
            lines += [
                f"{row['name']} (classifier accuracy {row['classifier_accuracy']:.3f}):",
                row["table_text"],
            ]
    if result["data"] != result.get("reference_data", result["data"]) and any(
        key.startswith("reference_") and value is not None for row in rows for key, value in row.items()
    ):
        lines.append(
            f"The reference figures were measured on {result['reference_data']}; these rows are on "
            f"{result['data']}, so the two columns need not agree."
        )
    return "\n".join([f"study {result['study']}: {result['about']}", *lines])


def shown(text: str | None, width: int = 100) -> str:
    return "-" if text is None else text.replace("\n", "\\n")[:width]
