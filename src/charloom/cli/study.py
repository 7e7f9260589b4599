"""``charloom study``: the reference experiments (the lectures' and the blog's), one command each."""

from __future__ import annotations

import argparse
from pathlib import Path

from charloom.cli.app import command, emit_json, say
from charloom.errors import CharloomError


def _add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", nargs="?", metavar="NAME|FILE.toml", help="a built-in study or a study file")
    p.add_argument("--list", action="store_true", help="the built-in studies")
    p.add_argument("--data", help="the data every run trains on (default: the study's)")
    p.add_argument("--out", help="the study's folder (default: studies/NAME)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the steps and any time budget (0.05: a quick look)"
    )
    p.add_argument("--json", action="store_true", help="study.json on stdout")


@command(
    "study",
    "run one of the reference experiments (the lectures', the blog's) or your own, and compare its runs",
    _add_study,
)
def cmd_study(args: argparse.Namespace) -> int:
    from charloom.study.runner import format_study, run_study
    from charloom.study.spec import builtin_names, load_study

    if args.list:
        for name in builtin_names():
            study = load_study(name)
            print(f"{name:<10} {len(study.runs)} runs  {study.about}")
        return 0
    if not args.study:
        raise CharloomError("name a study (charloom study --list shows them) or give a study file")
    study = load_study(args.study).scaled(args.scale)
    out = Path(args.out) if args.out else Path("studies") / study.name
    if out.exists() and not out.is_dir():
        raise CharloomError(f"--out {out} is a file; name a folder for the study")
    result = run_study(study, out, data=args.data, log=say if args.json else print)
    result["scale"] = args.scale
    if args.json:
        emit_json(result)
        return 0
    print()
    print(format_study(result))
    if study.notes:
        print(f"\n{study.notes}")
    print(f"\nwrote {out / 'study.json'}" + (f" and {result['page']}" if result.get("page") else ""))
    return 0
