"""Reading units along a text, the features of a text, and finding units that track them."""

import numpy as np
import pytest
import torch

from charloom.data.vocab import Vocab
from charloom.errors import CharloomError
from charloom.inspect.interpret.neurons import (
    builtin_features,
    capture,
    correlations,
    discover,
    inside_brackets,
    inside_quotes,
    line_position,
    parse_feature,
)
from charloom.models.registry import build_model, make_config


def test_lstm_learns_a_quote_unit_and_discovery_finds_it(quote_run, heldout_file):
    text = heldout_file.read_text()
    trace = capture(quote_run.model, quote_run.vocab, text, "text")
    assert trace.quantities["hidden"].shape == (len(text), 1, 16)
    assert trace.quantities["cell"].shape == (len(text), 1, 16)
    findings = {f.feature: f for f in discover(trace, builtin_features(trace.text))}
    best = findings["quote"].units[0]
    assert abs(best.r) >= 0.8 and abs(best.r_heldout) >= 0.8, best
    # The unit really is that unit: recompute r on the whole text from the trace.
    activation = trace.quantities[best.quantity][:, best.layer, best.unit]
    assert abs(np.corrcoef(activation, inside_quotes(text))[0, 1]) >= 0.8
    assert findings["bracket"].units == [] and "constant" in findings["bracket"].note


def test_features_follow_the_text():
    text = 'a "bc" (d[e]f) g\nxy'
    assert inside_quotes(text).tolist()[:7] == [0, 0, 1, 1, 1, 0, 0]
    assert inside_brackets(text).tolist()[7:15] == [1, 1, 1, 1, 1, 1, 0, 0]
    position = line_position(text)
    assert position[0] == 0 and position[15] == 1 and position[17] == 0 and position[18] == 1
    features = builtin_features(text)
    assert features["line_start"][17] == 1 and features["line_start"].sum() == 2  # 'a' and 'x'
    name, values = parse_feature("vowel=[aeiou]", text)
    assert name == "vowel" and values.sum() == 2 and values[0] == 1 and values[10] == 1
    with pytest.raises(CharloomError, match="NAME=REGEX"):
        parse_feature("novalue", text)
    with pytest.raises(CharloomError, match="does not compile"):
        parse_feature("bad=(", text)


def test_correlations_are_pearson_r():
    rng = np.random.default_rng(0)
    feature = rng.integers(0, 2, 50).astype(float)
    activations = np.stack([feature + rng.normal(0, s, 50) for s in (0.1, 1.0, 5.0)] + [np.ones(50)], axis=1)
    r = correlations(activations, feature)
    expected = [np.corrcoef(activations[:, k], feature)[0, 1] for k in range(3)]
    assert np.allclose(r[:3], expected) and r[3] == 0
    assert np.isnan(correlations(activations, np.zeros(50))).all()


@pytest.mark.parametrize(
    "family, options",
    [
        ("gru", {"n_layer": 2, "hidden": 8, "embedding": 4}),
        ("transformer", {"n_layer": 2, "n_head": 2, "n_embd": 8, "block_size": 6}),
    ],
)
def test_line_mode_reads_each_item_from_a_fresh_state_and_guesses_match_forward(family, options):
    vocab = Vocab.from_texts(["abc", "cab"])
    torch.manual_seed(0)
    model = build_model(family, make_config(family, options), vocab.size).eval()
    items = ["abcab", "cabbac"]  # the second longer than the transformer's context after the boundary
    trace = capture(model, vocab, "\n".join(items) + "\n\n", "lines")
    assert trace.text == "\nabcab\ncabbac"
    for quantity in trace.quantities.values():
        assert quantity.shape[:2] == (len(trace.text), 2)
    with torch.no_grad():
        for start, item in ((0, items[0]), (6, items[1])):
            idx = torch.tensor([[0, *vocab.encode(item)]])[:, : model.context_size or 100]
            probs = torch.softmax(model(idx)[0][0], dim=-1)
            top = probs.topk(min(5, vocab.size), dim=-1)
            assert np.allclose(trace.probs[start : start + idx.shape[1]], top.values.numpy(), atol=1e-5)
    assert "\n" in {g for row in trace.guesses for g in row}  # the boundary is a guess too


def test_families_without_units_to_read_are_refused():
    vocab = Vocab.from_texts(["abc"])
    model = build_model("mlp", make_config("mlp", {"context": 2, "embedding": 2, "hidden": 4}), vocab.size)
    with pytest.raises(CharloomError, match="recurrent"):
        capture(model, vocab, "abc", "lines")


def test_discovery_on_a_tiny_text_explains_itself(quote_run):
    trace = capture(quote_run.model, quote_run.vocab, 'a"p', "text")
    findings = discover(trace, builtin_features(trace.text))
    assert all(f.units == [] and "too short" in f.note for f in findings)


def test_text_with_unknown_characters_is_a_user_error(quote_run):
    with pytest.raises(CharloomError, match="never saw"):
        capture(quote_run.model, quote_run.vocab, "abc XYZ", "text")


def test_graded_features_of_code_count_what_a_reader_must_remember():
    from charloom.inspect.interpret.features import (
        bracket_depth,
        in_comment,
        in_string,
        indent_level,
        since_newline,
    )

    code = 'def f(x):\n    s = "a#b"  # c\n    return (x[1] + 2)\n'
    at = code.index
    assert bracket_depth(code)[at("[")] == 2 and bracket_depth(code)[at("]")] == 1
    assert indent_level(code)[at("s =")] == 4 and indent_level(code)[at("def")] == 0
    assert since_newline(code)[at("s =")] == 5 and since_newline(code)[at("\n")] == 0
    strings = in_string(code)
    assert strings[at('"a')] == 1 and strings[at("#b")] == 1 and strings[at('"  #')] == 0
    comments = in_comment(code)
    assert comments[at("# c")] == 1 and comments[at("#b")] == 0 and comments[at("return")] == 0


def test_the_share_of_units_that_track_a_feature(quote_run, heldout_file):
    from charloom.inspect.interpret.neurons import interpretable_share

    trace = capture(quote_run.model, quote_run.vocab, heldout_file.read_text(), "text")
    share = interpretable_share(trace, {"quote": inside_quotes(trace.text)})
    assert share["units"] == sum(v.shape[1] * v.shape[2] for v in trace.quantities.values())
    assert share["tracking"] >= 1 and share["share"] == share["tracking"] / share["units"]  # the quote cell
    noise = np.random.default_rng(0).random(len(trace))
    assert interpretable_share(trace, {"noise": noise})["tracking"] == 0  # nothing follows noise


def test_one_unit_as_a_condensed_page_and_a_png(quote_run, heldout_file, tmp_path, capsys):
    from charloom.cli import main

    page, png = tmp_path / "unit.html", tmp_path / "unit.png"
    argv = ["neurons", str(quote_run.path), "--text", str(heldout_file), "--max-chars", "300"]
    assert main([*argv, "--unit", "hidden:0:3", "--output", str(page), "--unit-png", str(png)]) == 0
    text = page.read_text()
    assert text.count("<span") == 300 and "<script" not in text  # the text alone, a span a character
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main([*argv, "--unit", "hidden:0:999", "--output", str(page)]) == 2  # no such unit
    assert main([*argv, "--unit-png", str(png)]) == 2  # a picture of which unit?
    assert "--unit" in capsys.readouterr().err


def mark(values) -> str:
    return "".join("1" if v else "0" for v in values)


def test_the_slides_features_of_wikipedia_and_c_source_on_planted_text():
    from charloom.inspect.interpret.features import URL, builtin_features, regex_feature, wiki_link_position

    wiki = "see [[Paris|city]] at http://example.org/a_b now"
    url = mark(regex_feature(wiki, URL))
    assert url == "0" * 22 + "1" * 22 + "0" * 4  # the whole address, not the space after it
    position = wiki_link_position(wiki)
    assert list(position[6:16]) == list(range(10)) and position[5] == -1 and position[16] == -1
    c = 'x = 1; /* a */ if (a > b) {\n  y();\n}\nz; s = "/* no */";'
    features = builtin_features(c)
    assert mark(features["in_c_comment"][:15]) == "000000011111110"
    assert not features["in_c_comment"][c.index('"') :].any()  # a /* inside a string opens nothing
    body = c.index("{"), c.index("}")
    assert features["in_if_block"][body[0] : body[1]].all() and not features["in_if_block"][: body[0]].any()
    assert not features["in_if_block"][body[1] :].any()
    python = "def f():\n    if a:\n        b()\n    d()\n"
    inside = builtin_features(python)["in_if_block"]
    assert (
        inside[python.index("b()")] == 1
        and inside[python.index("d()")] == 0
        and inside[python.index("a:")] == 0
    )
