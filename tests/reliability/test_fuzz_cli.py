"""The fuzzer over every entry point (tests/fuzzing.py): command lines of every command,
run.json fields, corpus files. Each case ends in a result or in one line and exit code 2,
within its time, with no file changed.

``CHARLOOM_FUZZ_EXAMPLES`` sets the cases per test (default 25, which keeps CI under two
minutes for all of them; a nightly run sets it in the hundreds)."""

from __future__ import annotations

import os

import pytest
from hypothesis import strategies as st

import fuzzing
from tiny_data import make_names

pytestmark = pytest.mark.slow  # trains tiny models, many cases
EXAMPLES = int(os.environ.get("CHARLOOM_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    words = ["the", "cat", "sat", "on", "a", "mat", "(and)", '"dog"', "ran", "far", "42"]
    text = "\n".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(8)) for i in range(120))
    return fuzzing.make_work(tmp_path_factory.mktemp("fuzz"), make_names(300), text)


@pytest.mark.heavy
@pytest.mark.parametrize("command", sorted(fuzzing.commands()))
def test_every_command_line_ends_in_a_result_or_one_line(command, work):
    ran = fuzzing.fuzz(fuzzing.argv_for(command, work), lambda argv: fuzzing.check(argv, work), EXAMPLES)
    assert 0 < ran <= EXAMPLES  # fewer when a command has fewer different command lines


@pytest.mark.heavy
def test_every_run_json_field_tampered(work):
    def case(drawn):
        (where, value), command = drawn
        run = fuzzing.tamper(work, where, value)
        argv = [command, str(run)] + (
            ["anna"] if command == "score" else ["-n", "3"] if command == "sample" else []
        )
        fuzzing.check(argv, work)

    commands = st.sampled_from(["sample", "eval", "score"])
    assert fuzzing.fuzz(st.tuples(fuzzing.tampered_runs(work), commands), case, 3 * EXAMPLES) == 3 * EXAMPLES


@pytest.mark.heavy
def test_every_corpus_file(work):
    def case(blob):
        path = work.outputs / "corpus.txt"
        path.write_bytes(blob)
        out = work.outputs / f"run-{abs(hash(blob))}"
        fuzzing.check(
            ["train", str(path), "--model", "bigram", "--max-steps", "1", "--out", str(out), "--quiet"], work
        )
        fuzzing.check(["data", str(path)], work)

    assert fuzzing.fuzz(fuzzing.corpus_files(), case, 2 * EXAMPLES) == 2 * EXAMPLES
