"""``charloom compare``: runs side by side, as a table, JSON or one HTML page."""

from __future__ import annotations

import argparse

from charloom import io
from charloom.cli.app import command, emit_json


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_OR_GROUP", help="run folders or run groups")
    p.add_argument("--output", metavar="PAGE.html", help="also write the compare page here")
    p.add_argument("--json", action="store_true", help="the rows as JSON")


@command("compare", "runs side by side: figures, loss curves, layers and samples", _add_compare)
def cmd_compare(args: argparse.Namespace) -> int:
    from charloom.inspect.compare import compare_rows, format_rows

    page = io.page_path(args.output, "--output") if args.output else None
    rows = compare_rows(args.runs)
    if page is not None:
        from charloom.inspect.compare_page import render_compare

        io.atomic_write_bytes(page, render_compare(rows).encode("utf-8"))
    if args.json:
        emit_json(rows)
    else:
        print(format_rows(rows))
        if page is not None:
            print(f"\nwrote {page}")
    return 0
