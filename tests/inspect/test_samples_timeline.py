"""Samples through training, read from RUN/samples.txt."""

import json

import pytest

from charloom.errors import CharloomError
from charloom.inspect.interpret.samples_timeline import (
    read_samples,
    samples_timeline_html,
    write_samples_page,
)


def write_samples(run_dir, rows):
    lines = [f"{step}\t{json.dumps(text)[1:-1]}" for step, text in rows]  # as the trainer writes them
    (run_dir / "samples.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_timeline_groups_by_step_in_order_and_escapes(tmp_path):
    write_samples(tmp_path, [(0, "xq<b>"), (0, "zz"), (500, 'the "cat"\nsat'), (100, "tha cet\tx")])
    assert read_samples(tmp_path) == [(0, ["xq<b>", "zz"]), (100, ["tha cet\tx"]), (500, ['the "cat"\nsat'])]
    fragment = samples_timeline_html(tmp_path)
    assert fragment.index("iteration 0") < fragment.index("iteration 100") < fragment.index("iteration 500")
    assert "xq&lt;b&gt;" in fragment and "xq<b>" not in fragment
    assert "the &quot;cat&quot;\nsat" in fragment
    page = write_samples_page(tmp_path)
    assert page == tmp_path / "samples.html" and fragment in page.read_text()


def test_missing_samples_say_so_and_damaged_ones_are_a_user_error(tmp_path):
    assert "No samples" in samples_timeline_html(tmp_path)
    (tmp_path / "samples.txt").write_text("not a step\n")
    with pytest.raises(CharloomError, match="damaged"):
        read_samples(tmp_path)


def test_a_real_run_records_samples_at_each_eval(quote_run):
    assert [step for step, _ in read_samples(quote_run.path)] == [0, 60, 120]
