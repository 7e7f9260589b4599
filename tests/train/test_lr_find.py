"""The learning-rate sweep: exponentially spaced rates, one step each, and a suggestion."""

import json

import pytest

from charloom.cli import main
from charloom.data.config import DataConfig
from charloom.train.config import TrainConfig
from charloom.train.lr_find import lr_find, suggest


def test_the_suggestion_is_where_the_valley_starts():
    rates = [10 ** (-3 + 3 * i / 99) for i in range(100)]
    # falls from 3.0 to 2.0 by rate 1e-1 (i = 66), flat, then climbs
    smoothed = [3.0 - min(i, 66) / 66 + max(0, i - 90) * 0.2 for i in range(100)]
    assert suggest(rates, smoothed) == pytest.approx(rates[60])  # within a tenth of the fall: 2.1
    assert suggest(rates, [3.0, 3.1, 3.2, 3.3]) is None  # it never fell


def test_a_sweep_steps_through_exponential_rates_and_stops_when_the_loss_runs_away(names_file):
    config = TrainConfig(optimizer="sgd", grad_clip=0, batch_size=32)
    model = {"hidden": 16, "embedding": 4}
    sweep = lr_find(DataConfig(str(names_file)), "mlp", model, config, start=1e-2, end=1e3, steps=60)
    assert sweep.rates[0] == pytest.approx(1e-2) and sweep.rates[-1] == pytest.approx(1e3)
    ratios = {round(b / a, 6) for a, b in zip(sweep.rates, sweep.rates[1:], strict=False)}
    assert len(ratios) == 1  # spaced exponentially
    assert len(sweep.losses) < 60  # a rate of hundreds makes SGD run away: the sweep stopped
    assert sweep.suggestion is not None and 1e-2 < sweep.suggestion < 1e2


def test_the_command_prints_json_with_the_suggestion_and_writes_its_plot(names_file, tmp_path, capsys):
    plot = tmp_path / "lr.png"
    code = main(["lr-find", str(names_file), "--model", "bigram", "--steps", "40", "--start", "1e-2",
                 "--end", "10", "--plot", str(plot), "--json"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["suggested_lr"] > 0 and len(result["losses"]) == result["steps"] <= 40
    assert plot.stat().st_size > 1000


def test_a_text_too_large_to_hold_is_swept_from_its_file_as_a_whole_read_is(tmp_path, monkeypatch):
    from charloom.data import text_stream

    path = tmp_path / "big.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 40, encoding="utf-8")
    model = {"n_layer": 1, "n_embd": 16, "n_head": 2, "block_size": 16}
    sweeps = []
    for streamed in (False, True):
        monkeypatch.setattr(text_stream, "STREAM_BYTES", 0 if streamed else 1 << 40)
        monkeypatch.setattr(text_stream, "CHUNK_CHARS", 7)
        data = DataConfig(str(path), format="text")
        assert (data.load(stream=True).stream is not None) == streamed
        sweeps.append(lr_find(data, "transformer", model, TrainConfig(batch_size=4), steps=15).losses)
    assert len(sweeps[0]) == 15 and sweeps[1] == sweeps[0]
