"""``charloom export``: a run's model in a file that other programs run without charloom."""

from __future__ import annotations

import argparse
from pathlib import Path

from charloom.cli.app import command
from charloom.errors import CharloomError
from charloom.run import load_run

SUFFIXES = {"onnx": (".onnx",), "html": (".html", ".htm")}


def _add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run folder")
    p.add_argument(
        "--format",
        choices=["onnx", "html"],
        default="onnx",
        help="onnx: the next-character step, (token, state) -> (logits, state), for any ONNX runtime; "
        "html: one page that generates in a browser, offline",
    )
    p.add_argument("--output", required=True, help="the file to write (FILE.onnx or FILE.html)")
    p.add_argument(
        "--no-train-items",
        dest="train_items",
        action="store_false",
        help="html: leave the training items out of the page (smaller; no novelty mark)",
    )


@command("export", "write a run's model as an ONNX graph or a standalone web page", _add_export)
def cmd_export(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() not in SUFFIXES[args.format]:  # so that no other file is replaced
        raise CharloomError(
            f"--output must end in {SUFFIXES[args.format][0]} for --format {args.format}, "
            f"got {str(output)[:100]!r}"
        )
    if output.is_dir():
        raise CharloomError(f"--output {output} is a folder; give a file name (model.{args.format})")
    if not output.parent.exists():
        raise CharloomError(f"--output: no folder {output.parent}")
    if args.format != "html" and not args.train_items:
        raise CharloomError("--no-train-items is for --format html (an ONNX file carries no training items)")
    run = load_run(args.run, device="cpu")
    if args.format == "html":
        from charloom.export.page import export_page

        data = export_page(run, output, train_items=args.train_items)
        carried = f", {len(data['train']):,} training items" if data["train"] else ""
        print(
            f"wrote {output} ({output.stat().st_size:,} bytes): {run.family}, vocab {run.vocab.size}{carried}"
        )
        print("open it in any browser; it needs no network")
        return 0
    from charloom.export.onnx import export_onnx

    meta = export_onnx(run, output)
    state = ", ".join(meta["inputs"][1:])
    size = output.stat().st_size
    print(f"wrote {output} ({size:,} bytes): {run.family}, vocab {run.vocab.size}, state {state}")
    print("generate with it: python examples/onnx_sample.py " + str(output))
    return 0
