"""Samples through training: what the model wrote at each evaluation, oldest first.

The slides' "iteration 100 / 300 / 500 ..." view: noise first, then spaces and word
lengths, then words, then structure, each item with its novelty mark (train, held-out,
new). The samples come from ``RUN/samples.txt`` (``rundir.LoggedSample``).
"""

from __future__ import annotations

import html
from pathlib import Path

from charloom import io
from charloom.rundir import RunDir

STYLE = """
.charloom-timeline { font-family: sans-serif; }
.charloom-timeline section { border-left: 3px solid #8ab; margin: 0 0 1em 0; padding: 0 0 0 .8em; }
.charloom-timeline h3 { font-size: .95em; margin: .2em 0; color: #357; }
.charloom-timeline pre { background: #f6f6f6; margin: .2em 0; padding: .4em; white-space: pre-wrap; }
.charloom-timeline .seen { color: #888; font-family: sans-serif; }
"""


def read_samples(run_dir: str | Path) -> list[tuple[int, list[str]]]:
    """``RUN/samples.txt`` as [(step, [sample, ...])] in step order; [] when it is missing."""
    by_step: dict[int, list[str]] = {}
    for sample in RunDir(run_dir).read_samples():
        by_step.setdefault(sample.step, []).append(sample.text)
    return sorted(by_step.items())


def samples_timeline_html(run_dir: str | Path) -> str:
    """An HTML fragment (its own scoped <style> included) with a section per evaluation
    step, to embed in a report or wrap into a page."""
    logged = RunDir(run_dir).read_samples()
    timeline: dict[int, list] = {}
    for sample in logged:
        timeline.setdefault(sample.step, []).append(sample)
    if not timeline:
        return (
            '<div class="charloom-timeline"><p>No samples were recorded for this run '
            "(samples.txt is missing or empty).</p></div>"
        )
    sections = []
    for step, samples in sorted(timeline.items()):
        body = "\n".join(
            f"<pre>{html.escape(s.text)}"
            + (f' <small class="seen">{s.seen}</small>' if s.seen else "")
            + "</pre>"
            for s in samples
        )
        sections.append(f'<section id="step-{step}"><h3>iteration {step}</h3>\n{body}</section>')
    return f'<div class="charloom-timeline"><style>{STYLE}</style>\n' + "\n".join(sections) + "</div>"


def write_samples_page(run_dir: str | Path, path: str | Path | None = None) -> Path:
    """A standalone page with the timeline, by default ``RUN/samples.html``."""
    run_dir = Path(run_dir)
    path = Path(path) if path is not None else run_dir / "samples.html"
    title = html.escape(f"samples through training: {run_dir.name}")
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body><h1>{title}</h1>\n{samples_timeline_html(run_dir)}\n</body></html>\n"
    )
    io.atomic_write_bytes(path, page.encode("utf-8"))
    return path
