"""The transfer table as terminal text, Markdown, CSV or a self-contained HTML page.

A cell lists its completions, each with the classifier's probability that it belongs to
the column's category: ``derek vrona (0.91)``; in the pooled column, ``all``, with the
category it is filed under: ``derek vrona (italian 0.62)``.
"""

from __future__ import annotations

import csv
import html
import io

from charloom.errors import CharloomError
from charloom.transfer.table import Row

FORMATS = ("text", "md", "csv", "html")


def _columns(rows: list[Row]) -> list[str]:
    return list(rows[0].cells) if rows else []


def _cell(row: Row, category: str, sep: str) -> str:
    return sep.join(f"{c.text} ({c.mark})" for c in row.cells[category])


def to_text(rows: list[Row]) -> str:
    header = ["name", "start", *_columns(rows)]
    body = [[r.name, r.start, *(_cell(r, c, " / ") for c in _columns(rows))] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in [header, *body]
    )


def to_markdown(rows: list[Row]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    columns = _columns(rows)
    lines = ["| name | start | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        cells = [esc(r.name), f"`{esc(r.start)}`", *(esc(_cell(r, c, "<br>")) for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_csv(rows: list[Row]) -> str:
    """One line per completion: name, cut, start, category, sample, text, judge, classifier."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "name",
            "cut",
            "start",
            "category",
            "sample",
            "completion",
            "judge_prob",
            "classifier_prob",
            "classified_as",
        ]
    )
    for r in rows:
        for category, completions in r.cells.items():
            for number, c in enumerate(completions):
                writer.writerow(
                    [
                        r.name,
                        r.cut,
                        r.start,
                        category,
                        number,
                        c.text,
                        f"{c.judge_prob:.4f}",
                        f"{c.classifier_prob:.4f}",
                        c.classified_as,
                    ]
                )
    return out.getvalue()


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 6px 12px; text-align: left; vertical-align: top; }}
tr:nth-child(2n) {{ background: #f8f8f8; }}
.start {{ font-weight: bold; }}
.p {{ color: #666; font-size: 0.85em; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Each generator continues the start of the name (bold). The number is the classifier's probability that the
completion belongs to the generator's category; the pooled column (all) names the category it
is filed under.</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""


def to_html(rows: list[Row], title: str = "charloom style transfer") -> str:
    """A self-contained page: inline CSS, no scripts, no outside resources."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in ["name", "start", *_columns(rows)])
    lines = []
    for r in rows:
        cells = [f"<td>{e(r.name)}</td>", f'<td class="start">{e(r.start)}</td>']
        for category in _columns(rows):
            parts = [
                f'<span class="start">{e(c.start)}</span>{e(c.continuation)} '
                f'<span class="p">{e(c.mark)}</span>'
                for c in r.cells[category]
            ]
            cells.append("<td>" + "<br>".join(parts) + "</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return PAGE.format(title=e(title), head=head, body="\n".join(lines))


def render(rows: list[Row], fmt: str) -> str:
    if fmt not in FORMATS:
        raise CharloomError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return {"text": to_text, "md": to_markdown, "csv": to_csv, "html": to_html}[fmt](rows)


__all__ = ["FORMATS", "render", "to_csv", "to_html", "to_markdown", "to_text"]
