"""Samples through training: what the model wrote at each evaluation, oldest first.

The slides' "iteration 100 / 300 / 500 ..." view: noise first, then spaces and word
lengths, then words, then structure. The trainer appends to ``RUN/samples.txt`` one
line per sample, ``step<TAB>text`` with the text JSON-escaped (no quotes), so a
sample's newlines and tabs stay on its line.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from charloom.errors import CharloomError

STYLE = """
.charloom-timeline { font-family: sans-serif; }
.charloom-timeline section { border-left: 3px solid #8ab; margin: 0 0 1em 0; padding: 0 0 0 .8em; }
.charloom-timeline h3 { font-size: .95em; margin: .2em 0; color: #357; }
.charloom-timeline pre { background: #f6f6f6; margin: .2em 0; padding: .4em; white-space: pre-wrap; }
"""


def read_samples(run_dir: str | Path) -> list[tuple[int, list[str]]]:
    """``RUN/samples.txt`` as [(step, [sample, ...])] in step order; [] when it is missing."""
    path = Path(run_dir) / "samples.txt"
    if not path.exists():
        return []
    by_step: dict[int, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        step, sep, escaped = line.partition("\t")
        try:
            by_step.setdefault(int(step), []).append(json.loads(f'"{escaped}"'))
        except ValueError:
            if not sep and not line.strip():
                continue
            raise CharloomError(
                f"{path} line {number} is not 'step<TAB>sample'; the run's samples file is damaged"
            ) from None
    return sorted(by_step.items())


def samples_timeline_html(run_dir: str | Path) -> str:
    """An HTML fragment (its own scoped <style> included) with a section per evaluation
    step, to embed in a report or wrap into a page."""
    timeline = read_samples(run_dir)
    if not timeline:
        return (
            '<div class="charloom-timeline"><p>No samples were recorded for this run '
            "(samples.txt is missing or empty).</p></div>"
        )
    sections = []
    for step, samples in timeline:
        body = "\n".join(f"<pre>{html.escape(text)}</pre>" for text in samples)
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
    path.write_text(page, encoding="utf-8")
    return path
