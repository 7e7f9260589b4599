"""``charloom export``: a run's model in a file that other programs run without charloom."""

from __future__ import annotations

import argparse
from pathlib import Path

from charloom.cli.app import command
from charloom.errors import CharloomError
from charloom.run import load_run


def _add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run folder")
    p.add_argument(
        "--format",
        choices=["onnx"],
        default="onnx",
        help="onnx: the next-character step, (token, state) -> (logits, state), for any ONNX runtime",
    )
    p.add_argument("--output", required=True, help="the file to write (FILE.onnx)")


@command("export", "write a run's model as an ONNX graph (needs charloom[export])", _add_export)
def cmd_export(args: argparse.Namespace) -> int:
    from charloom.export.onnx import export_onnx

    output = Path(args.output)
    if output.is_dir():
        raise CharloomError(f"--output {output} is a folder; give a file name (model.onnx)")
    if not output.parent.exists():
        raise CharloomError(f"--output: no folder {output.parent}")
    run = load_run(args.run, device="cpu")
    meta = export_onnx(run, output)
    state = ", ".join(meta["inputs"][1:])
    size = output.stat().st_size
    print(f"wrote {output} ({size:,} bytes): {run.family}, vocab {run.vocab.size}, state {state}")
    print("generate with it: python examples/onnx_sample.py " + str(output))
    return 0
