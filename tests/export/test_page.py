"""The standalone page: every family's forward pass in JavaScript gives charloom's next-
character probabilities in Chromium, past the context too, and greedy items are charloom's."""

from __future__ import annotations

import pytest
import torch

from browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from charloom.api import train
from charloom.cli import main
from charloom.data.conditions import token_for
from charloom.errors import CharloomError
from charloom.export.page import export_page, layers_of, page_data
from charloom.models.transformer_block import GPT2_BLOCK
from charloom.transfer.group import train_group
from tiny_data import make_names

FAMILIES = {  # every weight away from its initial value, so that no term is zero by chance
    "ngram": {"n": 3},
    "bigram": {},
    "mlp": {"hidden": 16, "embedding": 4, "batchnorm": True, "n_layer": 2, "logits_batchnorm": True},
    "mlp-linear": {"hidden": 16, "embedding": 4, "activation": "linear"},
    "wavenet": {"context": 8, "embedding": 8, "hidden": 16},
    "rnn": {"hidden": 16},
    "gru": {"hidden": 16, "n_layer": 2},
    "lstm": {"hidden": 16, "learned_init": True},
    "transformer": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 16},
    "gpt2-block": {**GPT2_BLOCK, "n_layer": 2, "n_head": 2, "n_embd": 16, "tie_weights": True},
    "rms-transformer": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "norm": "rmsnorm"},
}
QUIET = {"max_steps": 30, "num_samples": 0, "log": lambda m: None, "callbacks": []}
TEXT = "kelmaniaelsonbarikeamo"  # longer than every context above


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    (root / "names.txt").write_text("\n".join(make_names()) + "\n")
    (root / "text.txt").write_text("the cat sat on the mat. the dog ran far away.\n" * 40)
    made = {}
    for name, options in FAMILIES.items():
        family = "transformer" if "transformer" in name or name == "gpt2-block" else name.split("-")[0]
        made[name] = train(root / "names.txt", family, out=root / name, model_options=options, **QUIET)
        with torch.no_grad():
            for parameter in made[name].model.parameters():
                parameter.add_(0.3 * torch.randn_like(parameter))
        if family == "mlp":  # running statistics away from (0, 1) too
            for layer in made[name].model.modules():
                if hasattr(layer, "running_var"):
                    layer.running_mean.add_(0.5)
                    layer.running_var.mul_(2.0)
    made["gru-text"] = train(
        root / "text.txt", "gru", out=root / "gru-text", format="text", model_options={"hidden": 16}, **QUIET
    )
    (root / "langs.tsv").write_text(
        "".join(f"{c}\t{n}\n" for c in ("hard", "soft") for n in make_names(80, seed=len(c)))
    )
    conditional = train_group(
        root / "langs.tsv", "gru", out=root / "group", condition="category", log=lambda m: None,
        model_options={"hidden": 16, "n_layer": 1}, max_steps=30, num_samples=0,
    )  # fmt: skip
    made["conditional"] = conditional.runs["hard"].run
    return root, made


@pytest.fixture(scope="module")
def browser():
    api = browser_or_skip()
    with api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def opened(browser, path):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/*",
        lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_(),
    )
    page.goto(path.as_uri())
    assert not errors, errors
    return page


def charlooms_probabilities(run, text, category=None):
    start = [0] if run.format == "lines" else []
    tokens = start + run.vocab.encode(token_for(run.info, category) + text)
    state = run.model.init_state(1)
    with torch.no_grad():
        for token in tokens:
            logits, state = run.model(torch.tensor([[token]]), state)
    return torch.softmax(logits[0, -1].double(), dim=-1)


@pytest.mark.slow
@pytest.mark.parametrize("name", [*FAMILIES, "gru-text", "conditional"])
def test_the_page_gives_charlooms_probabilities_and_greedy_items(name, runs, browser):
    root, made = runs
    run = made[name]
    path = root / f"{name}.html"
    export_page(run, path)
    page = opened(browser, path)
    category = "hard" if name == "conditional" else ""
    texts = ["the cat sat on the mat. the", "t"] if run.format == "text" else ["", "ke", TEXT]
    for text in texts:
        ours = page.evaluate("([t, c]) => charloom.nextProbabilities(t, c)", [text, category])
        expected = charlooms_probabilities(run, text, category or None)
        assert torch.allclose(torch.tensor(ours, dtype=torch.float64), expected, atol=1e-4), text
    prefixes = ["the "] if run.format == "text" else ["", "ma", "ke"]
    for prefix in prefixes:
        options = {"n": 1, "temperature": 0, "prefix": prefix, "maxNewTokens": 30, "category": category}
        [ours] = page.evaluate("(o) => charloom.generate(o)", options)
        [theirs] = run.sample(1, temperature=0, prefix=prefix, max_new_tokens=30, category=category or None)
        if theirs.finished and ours["text"] != theirs.text and prefix:
            # a prefix is a constraint in charloom: its mask ends an item that would run past
            # --max-new-tokens at the last place, where the page cuts it instead
            assert ours["text"].startswith(theirs.text) and len(ours["text"]) == len(prefix) + 30, prefix
        else:
            assert ours["text"] == theirs.text, prefix
    page.close()


@pytest.mark.slow
def test_the_form_draws_seeded_items_with_their_marks_and_says_what_is_wrong(runs, browser):
    root, made = runs
    run = made["transformer"]
    path = root / "form.html"
    export_page(run, path)
    page = opened(browser, path)
    page.fill("#n", "20")
    page.fill("#prefix", "ka")
    page.fill("#top-k", "5")
    page.fill("#seed", "7")
    page.click("button[type=submit]")
    first = page.locator("#items li .text").all_inner_texts()
    marks = page.locator("#items li .mark").all_inner_texts()
    page.click("button[type=submit]")
    assert page.locator("#items li .text").all_inner_texts() == first  # the seed decides
    assert len(first) == 20 and all(item.startswith("ka") for item in first)
    train_set = set(run.split_items("train"))
    assert marks == ["in training" if item in train_set else "new" for item in first]
    page.fill("#prefix", "kQ")
    page.click("button[type=submit]")
    assert "never saw" in page.inner_text("#status")
    drawn = page.evaluate("charloom.generate({n: 50, topK: 3, seed: 1})")
    assert drawn == page.evaluate("charloom.generate({n: 50, topK: 3, seed: 1})")
    assert len({item["text"] for item in drawn}) > 5 and all(item["finished"] for item in drawn)
    page.close()


def test_the_data_carries_the_vocabulary_the_layers_and_the_training_items(runs, tmp_path):
    _, made = runs
    data = page_data(made["mlp"])
    layers = [layer["op"] for layer in data["model"]["layers"]]
    assert layers == ["flatten", *["linear", "batchnorm", "tanh"] * 2, "linear", "batchnorm"]
    assert data["train"] == made["mlp"].split_items("train")
    assert page_data(made["mlp"], train_items=False)["train"] is None
    assert "head.weight" not in page_data(made["gpt2-block"])["tensors"]  # tied: read off the embedding
    wavenet = [layer["op"] for layer in page_data(made["wavenet"])["model"]["layers"]]
    assert wavenet.count("pairs") == 3 and "flatten" not in wavenet and wavenet[-1] == "linear"


def test_a_layer_the_page_cannot_run_is_refused_by_name(runs):
    _, made = runs
    model = made["mlp"].model
    original = model.hidden[2]
    model.hidden[2] = torch.nn.ReLU()
    try:
        with pytest.raises(CharloomError, match="no forward pass for a ReLU"):
            layers_of(model.hidden, "hidden")
    finally:
        model.hidden[2] = original


def test_the_command_writes_the_page(runs, tmp_path, capsys):
    _, made = runs
    page = tmp_path / "names.html"
    assert main(["export", str(made["gru"].path), "--format", "html", "--output", str(page)]) == 0
    assert "training items" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # nothing fetched from anywhere
    assert "</script>" not in text.split('id="charloom-data">')[1].split("</script>")[0]
    bare = tmp_path / "bare.html"
    assert (
        main(["export", str(made["gru"].path), "--format", "html", "--no-train-items", "--output", str(bare)])
        == 0
    )
    assert bare.stat().st_size < page.stat().st_size
    onnx = tmp_path / "g.onnx"
    assert main(["export", str(made["gru"].path), "--no-train-items", "--output", str(onnx)]) == 2
    assert "for --format html" in capsys.readouterr().err and not onnx.exists()
