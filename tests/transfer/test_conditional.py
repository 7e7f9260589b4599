"""One model for all categories (--condition category): conditioning, step == forward,
the judge and the transfer table."""

from __future__ import annotations

import pytest
import torch

from charloom.data.conditions import category_token
from charloom.errors import CharloomError
from charloom.transfer.table import transfer_table


def test_the_category_changes_the_distribution(conditional_group):
    run = conditional_group.runs["hard"].run
    assert run.categories == ["hard", "soft"]
    hard = [s.text for s in run.sample(n=40, seed=1, category="hard")]
    soft = [s.text for s in run.sample(n=40, seed=1, category="soft")]
    assert not any(category_token(1) in t for t in hard) and not any(category_token(0) in t for t in soft)
    letters = lambda texts, chars: sum(t.count(c) for t in texts for c in chars)  # noqa: E731
    assert letters(hard, "ktz") > 2 * letters(soft, "ktz")
    assert letters(soft, "lmn") > 2 * letters(hard, "lmn")
    with pytest.raises(CharloomError, match="give category, one of"):
        run.sample(n=1, seed=0)
    with pytest.raises(CharloomError, match="no category 'x'"):
        run.sample(n=1, seed=0, category="x")


def test_step_matches_forward_after_the_category_token(conditional_group):
    run = conditional_group.runs["soft"].run
    ids = torch.tensor([[0, *run.vocab.encode(category_token(1) + "lamina")]])
    full = run.model(ids)[0][0]  # (T, V)
    state = run.model.init_state(1)
    for t in range(ids.shape[1]):
        logits, state = run.model(ids[:, t : t + 1], state)
        assert torch.allclose(logits[0, -1], full[t], atol=1e-5)


def test_judge_and_table_work_on_a_conditional_group(conditional_group):
    probs = conditional_group.judge.posterior(["kotak", "lamina"])
    assert probs[0, 0] > 0.5 and probs[1, 1] > 0.5
    assert conditional_group.split("test")["hard"] and not any(
        category_token(0) in t for t in conditional_group.split("test")["hard"]
    )
    rows = transfer_table(conditional_group, ["Kotak", "lamina"], [0.5], samples=2, best_of=2)
    assert all(c.text.startswith(r.start) for r in rows for cells in r.cells.values() for c in cells)
    assert set(rows[0].cells) == {"hard", "soft", "all"}


def test_a_conditional_stream_hides_the_category_token(conditional_group):
    run = conditional_group.runs["hard"].run
    stream = run.stream(seed=3, category="soft")
    text = "".join(stream)
    assert text == run.sample(n=1, seed=3, category="soft")[0].text == stream.sample.text
