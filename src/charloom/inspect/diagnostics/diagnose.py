"""``charloom diagnose RUN``: read what a run recorded, draw it, check it, report it.

A run trained with ``--diagnostics`` has ``diagnostics.jsonl``; one trained without it
still gets a report: the loss curve from ``metrics.jsonl``, and one probe of its final
weights on a training batch (activations, gradients, saturation: no history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from charloom.data.loading import split_batches
from charloom.data.vocab import Vocab
from charloom.inspect.diagnostics import plots
from charloom.inspect.diagnostics.checks import Finding, check_layers, check_records
from charloom.inspect.diagnostics.hooks import probe
from charloom.inspect.diagnostics.recurrence import check_recurrence, plot_recurrence
from charloom.inspect.diagnostics.report import render_report
from charloom.inspect.diagnostics.watch import read_diagnostics
from charloom.models.registry import model_class
from charloom.models.saved import load_model
from charloom.rundir import RunDir, read_run_json

PROBE_BATCH = 256


@dataclass
class Diagnosis:
    """What ``diagnose`` wrote and found."""

    report: Path
    plots: dict[str, Path] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    probed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "plots": self.plots,
            "probed": self.probed,
            "findings": [f.to_json() for f in self.findings],
        }


def read_samples(run: Path) -> list[tuple[int, str]]:
    """(step, text) pairs of samples.txt, a mark after the text where it has one."""
    return [(s.step, s.text + (f"  ({s.seen})" if s.seen else "")) for s in RunDir(run).read_samples()]


def probe_run(run: Path, seed: int = 0) -> dict[str, Any] | None:
    """A probe of a run's final weights on a batch of its training data, or None for a
    model with nothing to watch (count models)."""
    run_dir = RunDir(run)
    info = run_dir.read_info()
    model, vocab, _ = load_model(info, run_dir.weights_path("model"))
    if not any(p.requires_grad for p in model.parameters()):
        return None
    paths = run_dir.split_paths()
    fmt, block_size = info["data"]["format"], info["train"].get("block_size")
    train = split_batches(paths, vocab, fmt, model.training_layout, model.context_size, block_size)["train"]
    if train is None:
        return None
    record = probe(model, *train.sample(PROBE_BATCH, torch.Generator().manual_seed(seed)), train.layout)
    record["step"] = int(info.get("status", {}).get("step", 0))
    record["probe"] = True
    return record


def render_plots(
    records: list[dict[str, Any]], metrics: list[dict[str, Any]], folder: Path, vocab_size: int | None = None
) -> dict[str, Path]:
    """Every figure the records allow, as PNGs in ``folder``; name -> path."""
    made = {
        "loss": plots.plot_loss(records, metrics, folder / "loss.png", vocab_size),
        "activations": plots.plot_histograms(records, folder / "activations.png", "act"),
        "gradients": plots.plot_histograms(records, folder / "gradients.png", "grad"),
        "preactivations": plots.plot_linear_outputs(records, folder / "preactivations.png", "pre"),
        "logits": plots.plot_linear_outputs(records, folder / "logits.png", "logits"),
        "weight_gradients": plots.plot_weight_gradients(records, folder / "weight_gradients.png"),
        "saturation": plots.plot_saturation(records, folder / "saturation.png"),
        "update_ratios": plots.plot_update_ratios(records, folder / "update_ratios.png"),
        "grad_data": plots.plot_grad_data(records, folder / "grad_data.png"),
        "layer_stats": plots.plot_layer_stats(records, folder / "layer_stats.png"),
        "recurrence": plot_recurrence(records, folder / "recurrence.png"),
    }
    return {name: path for name, path in made.items() if path is not None}


def diagnose(run: str | Path) -> Diagnosis:
    """Write ``RUN/plots/*.png`` and ``RUN/report.html`` and return the checks' findings.

    >>> diagnosis = diagnose("runs/mlp-names")                     # doctest: +SKIP
    >>> [f.message for f in diagnosis.findings if f.level != "ok"]
    """
    run = Path(run)
    info = read_run_json(run)
    vocab_size = Vocab.from_json(info["vocab"]).size
    train = info.get("train", {})
    records, metrics = read_diagnostics(run), RunDir(run).read_metrics()
    notes, probed = [], False
    if any("layers" in r for r in records):
        muon = muon_matrices(records, info) if train.get("optimizer") == "muon" else set()
        findings = check_records(records, vocab_size, train.get("warmup_steps") or 0, train.get("lr"), muon)
        traced = [r for r in records if r.get("recurrence")]
        findings += check_recurrence(traced[-1]) if traced else []  # the gradient's reach, at the end
    else:
        findings = []
        record = probe_run(run)
        if record is not None:
            probed = True
            records = records + [record]
            findings = check_layers(record)
            notes.append(
                f"This run was trained without --diagnostics: the layer figures probe its final "
                f"weights on one batch of {PROBE_BATCH} training examples. Train with "
                "--diagnostics for the history."
            )
    figures = render_plots(records, metrics, run / "plots", vocab_size)
    report = run / "report.html"
    page = render_report(info, findings, figures, metrics, read_samples(run), notes)
    report.write_text(page, encoding="utf-8")
    return Diagnosis(report, figures, findings, probed)


def muon_matrices(records: list[dict], info: dict) -> set[str]:
    """The recorded matrices that Muon trained: every 2-D parameter but those the family
    keeps with AdamW (``CharModel.adamw_only``)."""
    kept = model_class(info["model"]["family"]).adamw_only
    params = next((r["params"] for r in records if r.get("params")), [])
    return {p["name"] for p in params if len(p["shape"]) == 2 and p["name"].split(".")[0] not in kept}
