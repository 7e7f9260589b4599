"""``charloom data``, ``datasets``, ``models``, ``neurons``, ``diagnose`` and ``init-sim``:
looking at data, at the model families, and inside runs."""

from __future__ import annotations

import argparse
import dataclasses

from charloom.cli.app import add_device, command, emit_json
from charloom.cli.options import add_config_flags, given
from charloom.data.config import DataConfig
from charloom.data.sources import READING
from charloom.errors import CharloomError
from charloom.io import image_path


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data", help="a dataset's name, a file, a folder, a glob, a .gz/.bz2/.xz file or - (stdin)"
    )
    p.add_argument("--format", choices=["lines", "text"], default="lines")
    p.add_argument("--top", type=int, help="how many common items to list (default 10; 5 a category)")
    p.add_argument(
        "--by-category",
        action="store_true",
        help="a categorized set (embedded, category<TAB>item lines, or a folder): figures per category",
    )
    p.add_argument("--categories", help="with --by-category: comma-separated categories to keep")
    p.add_argument("--keep-accents", action="store_true", help="with --by-category: do not fold accents")
    p.add_argument("--plot", help="with --by-category: write the length distributions to this .png")
    p.add_argument("--json", action="store_true")
    add_config_flags(
        p, DataConfig, skip=tuple(f.name for f in dataclasses.fields(DataConfig) if f.name not in READING)
    )


@command("data", "look at a dataset: counts, alphabet, lengths, common items", _add_data)
def cmd_data(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 0:
        raise CharloomError(f"--top must be >= 0, got {args.top}")
    if args.by_category:
        return _data_by_category(args)
    if args.plot or args.categories:
        raise CharloomError(f"{'--plot' if args.plot else '--categories'} goes with --by-category")
    from charloom.inspect.stats import corpus_stats, format_stats

    reading = {name: value for name, value in given(args, DataConfig).items() if name in READING}
    corpus = DataConfig(args.data, format=args.format, **reading).load(stream=True)
    stats = corpus_stats(corpus, top=10 if args.top is None else args.top)
    emit_json(stats) if args.json else print(format_stats(stats))
    return 0


def _data_by_category(args: argparse.Namespace) -> int:
    from charloom.data.categories import load_categorized
    from charloom.inspect.by_category import category_stats, format_category_stats, plot_lengths

    plot = image_path(args.plot, "--plot") if args.plot else None
    keep = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    items = load_categorized(args.data, keep_accents=args.keep_accents, categories=keep, dedup=False)
    stats = category_stats(items, top=5 if args.top is None else args.top)
    if plot is not None:
        stats["plot"] = str(plot_lengths(stats, plot))
    emit_json(stats) if args.json else print(format_category_stats(stats))
    if plot is not None and not args.json:
        print(f"\nwrote {plot}")
    return 0


def _add_json_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


@command(
    "datasets", "list the datasets: embedded, fetched on first use, built on this machine", _add_json_only
)
def cmd_datasets(args: argparse.Namespace) -> int:
    from charloom.data.datasets import list_datasets

    sets = [dataclasses.asdict(info) for info in list_datasets()]
    if args.json:
        emit_json(sets)
        return 0
    for info in sets:
        cats = f", {len(info['categories'])} categories" if info["categories"] else ""
        size = f"{info['items']:,} items{cats}" if info["items"] else "running text"
        source = (
            "fetched on first use" if info["fetched"] else "built here" if info["format"] == "text" else ""
        )
        print(f"{info['name']:<22} {size:<28} {source:<21} {info['description']}")
    return 0


@command("models", "list the model families with their options and defaults", _add_json_only)
def cmd_models(args: argparse.Namespace) -> int:
    from charloom.models.registry import FAMILIES, describe

    described = [describe(family) for family in FAMILIES]
    if args.json:
        emit_json(described)
        return 0
    width = max(len(option["name"]) + 2 for d in described for option in d["options"])
    for d in described:
        print(f"{d['family']}  ({d['layout']})  {d['summary']}")
        for option in d["options"]:
            flag = "--" + option["name"].replace("_", "-")
            print(f"    {flag:<{width}} default {option['default']!s:<10} {option['help']}")
    return 0


def _add_neurons(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder (recurrent or transformer for pages and discovery)")
    add_device(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--text", metavar="FILE", help="text to read the units along (default: the val split)"
    )
    source.add_argument("--prefix", metavar="STR", help="read the units along this string")
    p.add_argument("--output", metavar="PAGE.html", help="write the neuron page here")
    p.add_argument(
        "--unit",
        metavar="QUANTITY:LAYER:UNIT",
        help="one unit (e.g. cell:0:5): --output writes the text coloured by it alone",
    )
    p.add_argument("--unit-png", metavar="PLOT.png", help="with --unit: the text coloured by it, as a PNG")
    p.add_argument(
        "--max-chars", type=int, default=2000, help="read at most this many characters (default 2000)"
    )
    p.add_argument(
        "--discover", action="store_true", help="list the units that correlate best with features of the text"
    )
    p.add_argument(
        "--feature",
        action="append",
        default=[],
        metavar="NAME=REGEX",
        help="an extra feature: characters inside a match of REGEX are 1 (repeatable)",
    )
    p.add_argument("--top", type=int, default=3, help="units listed per feature (default 3)")
    p.add_argument("--embeddings", metavar="PLOT.png", help="write a PCA plot of the character embeddings")
    p.add_argument(
        "--samples-timeline",
        nargs="?",
        const="",
        metavar="PAGE.html",
        help="write the samples taken during training as a timeline (default RUN/samples.html)",
    )
    p.add_argument("--weights", choices=["model", "last"], default="model")
    p.add_argument("--json", action="store_true", help="print what was found and written as JSON")


@command(
    "neurons",
    "look inside a run: neuron page, interpretable units, embeddings, samples through training",
    _add_neurons,
)
def cmd_neurons(args: argparse.Namespace) -> int:
    from charloom.inspect.interpret import neurons
    from charloom.inspect.interpret.inside import inspect_run

    if args.unit_png and not args.unit:
        raise CharloomError("--unit-png needs --unit QUANTITY:LAYER:UNIT")
    if not (
        args.output or args.discover or args.embeddings or args.samples_timeline is not None or args.unit_png
    ):
        raise CharloomError(
            "say what to make: --output PAGE.html, --discover, --embeddings PLOT.png or --samples-timeline"
        )
    if args.max_chars < 1 or args.top < 1:
        raise CharloomError("--max-chars and --top must be at least 1")
    result = inspect_run(
        args.run,
        text_file=args.text,
        prefix=args.prefix,
        output=args.output,
        max_chars=args.max_chars,
        discover=args.discover,
        features=args.feature,
        top=args.top,
        embeddings=args.embeddings,
        samples_timeline=args.samples_timeline,
        weights=args.weights,
        device=args.device,
        unit=args.unit,
        unit_png=args.unit_png,
    )
    if args.json:
        emit_json(result)
        return 0
    if "findings" in result and args.discover:
        print(neurons.format_findings(result["findings"]))
        share = result.get("interpretable")
        if share:
            print(
                f"{share['tracking']} of {share['units']} units ({share['share']:.1%}) track a feature "
                f"with held-out |r| >= {share['threshold']}"
            )
    for key in ("page", "embeddings", "samples_timeline"):
        if key in result:
            print(f"wrote {result[key]}")
    return 0


def _add_diagnose(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="the report's path, figures and checks as JSON")


@command("diagnose", "plots and an HTML report of a run's training dynamics, with checks", _add_diagnose)
def cmd_diagnose(args: argparse.Namespace) -> int:
    from charloom.inspect.diagnostics.diagnose import diagnose

    diagnosis = diagnose(args.run)
    if args.json:
        emit_json(diagnosis.to_json())
        return 0
    for finding in diagnosis.findings:
        print(finding.line())
    print(f"{len(diagnosis.plots)} figures in {diagnosis.report.parent / 'plots'}")
    print(f"report: {diagnosis.report}")
    return 0


def _add_init_sim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=int, default=100, help="number of layers (default 100)")
    p.add_argument("--width", type=int, default=512, help="units per layer (default 512)")
    p.add_argument(
        "--init",
        default="xavier",
        help="normal: N(0,1); scaled: N(0,1)/divisor; xavier: 1/sqrt(fan_in); kaiming: gain/sqrt(fan_in) "
        "(default xavier)",
    )
    p.add_argument("--activation", default="linear", help="linear (default), tanh or relu")
    p.add_argument("--divisor", type=float, default=100.0, help="the divisor of --init scaled (default 100)")
    p.add_argument("--batch", type=int, default=64, help="input vectors (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE.png", help="also plot the std per layer to this PNG")
    p.add_argument("--json", action="store_true", help="the experiment as JSON, std per layer under 'std'")


@command(
    "init-sim", "initialisation through depth: the std of activations after each random layer", _add_init_sim
)
def cmd_init_sim(args: argparse.Namespace) -> int:
    from charloom.inspect.diagnostics.init import format_init_sim, simulate_init

    plot = image_path(args.plot, "--plot") if args.plot else None
    result = simulate_init(
        args.depth, args.width, args.init, args.activation, args.batch, args.seed, args.divisor
    )
    if plot is not None:
        from charloom.inspect.diagnostics.plots import plot_init_sim

        plot_init_sim([result.to_json()], plot)
    if args.json:
        emit_json(result.to_json())
    else:
        print(format_init_sim(result))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0
