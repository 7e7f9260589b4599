"""``charloom data --by-category``: figures per category, repeats, a PNG of the lengths."""

from __future__ import annotations

import json

from charloom.cli import main


def test_per_category_figures_from_a_tsv_file(tmp_path, capsys):
    rows = (
        [("short", "ab")] * 3
        + [("short", "cd"), ("short", "e")]
        + [("long", "abcdefgh"), ("long", "xyzxyzx")]
    )
    path = tmp_path / "cats.tsv"
    path.write_text("".join(f"{c}\t{item}\n" for c, item in rows))
    assert main(["data", str(path), "--by-category", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    short, long = stats["categories"]["short"], stats["categories"]["long"]
    assert (short["items"], short["unique_items"], short["length_min"], short["length_max"]) == (5, 3, 1, 2)
    assert short["length_histogram"] == {"1": 1, "2": 4}
    assert short["most_common"] == [["ab", 3]]  # only items that repeat are listed
    assert long["most_common"] == [] and long["length_mean"] == 7.5
    plot = tmp_path / "lengths.png"
    assert main(["data", str(path), "--by-category", "--plot", str(plot)]) == 0
    shown = capsys.readouterr().out
    assert plot.read_bytes()[:4] == b"\x89PNG" and "most common: ab (3)" in shown


def test_an_embedded_view_and_its_errors(tmp_path, capsys):
    assert main(["data", "names-by-country", "--by-category", "--categories", "italian,turkish"]) == 0
    shown = capsys.readouterr().out
    assert "italian" in shown and "turkish" in shown and "english" not in shown
    assert main(["data", "names", "--by-category"]) == 2  # no categories there
    assert main(["data", "names-by-country", "--by-category", "--plot", str(tmp_path / "x.jpg")]) == 2
    assert main(["data", "names", "--plot", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()
