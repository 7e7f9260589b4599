"""`charloom neurons` as a user meets it."""

import json

from charloom.cli import main


def test_discover_json_and_page_in_one_call(quote_run, heldout_file, tmp_path, cli):
    page = tmp_path / "page.html"
    result = cli(
        "neurons",
        str(quote_run.path),
        "--text",
        str(heldout_file),
        "--discover",
        "--feature",
        "shouting=[p-w]+",
        "--json",
        "--output",
        str(page),
        "--max-chars",
        "600",
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["characters"] == 600 and found["page"] == str(page) and page.exists()
    by_feature = {f["feature"]: f for f in found["findings"]}
    assert set(by_feature) >= {"quote", "bracket", "line_position", "word", "line_start", "digit", "shouting"}
    best = by_feature["quote"]["units"][0]
    assert abs(best["r"]) >= 0.8 and abs(best["r_heldout"]) >= 0.8
    assert best["anchor"] == f"quantity={best['quantity']}&layer={best['layer']}&unit={best['unit']}"


def test_table_prefix_embeddings_and_timeline(quote_run, tmp_path, capsys):
    plot = tmp_path / "emb.png"
    assert (
        main(
            [
                "neurons",
                str(quote_run.path),
                "--prefix",
                'ab "pq rs" ab',
                "--discover",
                "--embeddings",
                str(plot),
                "--samples-timeline",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["feature", "quantity"] and "quote" in out
    assert plot.exists() and (quote_run.path / "samples.html").exists()


def test_user_errors_are_one_line(quote_run, names_file, tmp_path, capsys):
    assert main(["neurons", str(quote_run.path)]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["neurons", str(quote_run.path), "--prefix", "ABC", "--discover"]) == 2
    assert "never saw" in capsys.readouterr().err
    assert main(["neurons", str(tmp_path / "nowhere"), "--discover"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run" in err


def test_a_page_flag_that_names_a_data_file_is_refused_and_the_file_kept(quote_run, heldout_file, capsys):
    kept = heldout_file.read_bytes()
    for flag in ("--output", "--samples-timeline"):
        code = main(["neurons", str(quote_run.path), "--discover", flag, str(heldout_file)])
        assert code == 2 and "must name an .html file" in capsys.readouterr().err
        assert heldout_file.read_bytes() == kept
