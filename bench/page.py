"""The standalone page (`charloom export --format html`) of each family's default names
model: its size, with and without the training items, and the time it takes to generate
100 names in headless Chromium (Debian's build, driven by Playwright).

    python bench/page.py [--seconds 20] [--json] [--write docs/benchmarks.md]

Each family is trained on the data for ``--seconds`` with its defaults (the n-gram is
counted), so that the names, and so the steps per name, are those of a trained model.
The time is the median of five calls of the page's own generate (n 100, temperature 1,
top-k off), after one call that warms the JavaScript engine; the time to open the page
(parse the weights, build the model) is reported beside it.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from common import parser, report, scratch

from charloom import train
from charloom.export.page import export_page
from charloom.models.registry import FAMILIES

CHROMIUM = os.environ.get("CHARLOOM_CHROMIUM", "/usr/bin/chromium")


def timed_page(browser, path: Path) -> dict:
    page = browser.new_page()
    page.goto(path.as_uri())
    opened_ms = page.evaluate("performance.now()")
    page.evaluate("charloom.generate({n: 10, seed: 0})")
    times = []
    lengths = []
    for seed in range(1, 6):
        took, length = page.evaluate(
            """(seed) => {
                 const began = performance.now();
                 const items = charloom.generate({n: 100, seed});
                 return [performance.now() - began, items.reduce((s, i) => s + i.text.length, 0) / 100];
               }""",
            seed,
        )
        times.append(took)
        lengths.append(length)
    page.close()
    return {
        "open_ms": opened_ms,
        "100_names_ms": statistics.median(times),
        "mean_length": statistics.mean(lengths),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="training time of each family")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    root = scratch()
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for family in FAMILIES:
            run = train(
                args.data,
                family,
                out=root / family,
                time_budget=args.seconds,
                num_samples=0,
                log=lambda m: None,
            )
            full, bare = root / f"{family}.html", root / f"{family}-bare.html"
            export_page(run, full)
            export_page(run, bare, train_items=False)
            rows.append(
                {
                    "family": family,
                    "parameters": run.info["model"].get("parameters", 0),
                    "page_kb": full.stat().st_size / 1024,
                    "without_items_kb": bare.stat().st_size / 1024,
                    **timed_page(browser, full),
                }
            )
        browser.close()
    report(
        rows,
        args,
        "page",
        f"The standalone page of each family's default model on {Path(args.data).name} (bench/page.py)",
        notes=f"Each family trained for {args.seconds:g} s with its defaults. Times in headless Chromium: "
        "100_names_ms is the median of five calls of generate({n: 100}) after a warm-up call; open_ms the "
        "time from navigation to a ready page (weights decoded, model built).",
    )


if __name__ == "__main__":
    main()
