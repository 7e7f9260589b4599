"""Looking inside a run: the one call behind ``charloom neurons``.

It chooses the text (a file, a string, or by default the run's validation split),
reads the units along it, looks for interpretable ones and writes whatever was asked
for: the neuron page, the embedding plot, the samples timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charloom import io
from charloom.data.corpus import read_text_file
from charloom.inspect.interpret import neurons
from charloom.io import image_path, page_path
from charloom.models.saved import load_model
from charloom.rundir import RunDir


def inspect_run(
    run_dir: str | Path,
    *,
    text_file: str | Path | None = None,
    prefix: str | None = None,
    output: str | Path | None = None,
    max_chars: int = 2000,
    discover: bool = False,
    features: list[str] | None = None,
    top: int = 3,
    embeddings: str | Path | None = None,
    samples_timeline: str | Path | None = None,
    weights: str = "model",
    device: str = "auto",
    unit: str | None = None,
    unit_png: str | Path | None = None,
) -> dict[str, Any]:
    """Do what was asked and say what was found and written.

    ``samples_timeline`` is a path, or "" for ``RUN/samples.html``. The result holds
    ``findings`` (a list of ``FeatureUnits``) when units were read, and the paths written
    under ``page``, ``embeddings`` and ``samples_timeline``.

    >>> inspect_run("runs/lstm-text", output="page.html", discover=True)  # doctest: +SKIP
    """
    output = page_path(output, "--output") if output else None
    if samples_timeline:  # "" is RUN/samples.html
        samples_timeline = page_path(samples_timeline, "--samples-timeline")
    embeddings = image_path(embeddings, "--embeddings") if embeddings else None
    unit_png = image_path(unit_png, "--unit-png") if unit_png else None
    run = RunDir(run_dir)
    info = run.read_info()
    model, vocab, _ = load_model(info, run.weights_path(weights), device)
    family, fmt = info["model"]["family"], info["data"]["format"]
    result: dict[str, Any] = {"run": str(run.path), "family": family}
    if output or discover or unit_png:
        if prefix is not None:
            text = prefix
        elif text_file is not None:
            text = read_text_file(text_file)
        else:
            text = run.split_text("val")
        trace = neurons.capture(model, vocab, text, fmt, max_chars=max_chars)
        wanted = neurons.builtin_features(trace.text)
        for spec in features or []:
            name, values = neurons.parse_feature(spec, trace.text)
            wanted[name] = values
        findings = neurons.discover(trace, wanted, top=top)
        result.update(characters=len(trace), findings=findings)
        if discover:
            result["interpretable"] = neurons.interpretable_share(trace, wanted)
        if unit is not None:  # one unit: the condensed view, and its picture
            from charloom.inspect.interpret.unit_view import plot_unit, unit_page

            page = unit_page(trace, unit, f"{run.path.name}: unit {unit}")
            if output:
                io.atomic_write_bytes(output, page.encode("utf-8"))
                result["page"] = str(output)
            if unit_png:
                result["unit_png"] = str(plot_unit(trace, unit, unit_png))
        elif output:
            from charloom.inspect.interpret.neuron_page import write_neuron_page

            result["page"] = str(
                write_neuron_page(output, trace, findings, f"neurons of {run.path.name} ({family})")
            )
    if embeddings:
        from charloom.inspect.interpret.embeddings import plot_embeddings

        result["embeddings"] = str(
            plot_embeddings(model, vocab, embeddings, f"character embeddings of {run.path.name}, PCA")
        )
    if samples_timeline is not None:
        from charloom.inspect.interpret.samples_timeline import write_samples_page

        result["samples_timeline"] = str(write_samples_page(run.path, samples_timeline or None))
    return result
