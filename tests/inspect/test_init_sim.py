"""`charloom init-sim`: the blog's 100 multiplications, with four ways to scale the weights."""

from __future__ import annotations

import json

import pytest

from charloom.cli import main
from charloom.inspect.diagnostics.init import simulate_init


def test_standard_normal_weights_explode_through_100_layers():
    result = simulate_init(depth=100, width=100, init="normal", batch=16)
    # each layer multiplies the std by about sqrt(100) = 10
    assert result.log10_std[0] == pytest.approx(1.0, abs=0.05)
    assert result.log10_std[-1] > 90 and result.std[-1] > 1e90
    assert all(b > a for a, b in zip(result.log10_std[:-1], result.log10_std[1:], strict=True))


def test_a_fixed_divisor_of_100_vanishes():
    result = simulate_init(depth=100, width=100, init="scaled", divisor=100, batch=16)
    # sqrt(100) / 100 = 0.1 a layer
    assert result.log10_std[-1] < -90 and result.std[-1] < 1e-90


def test_xavier_keeps_std_within_half_and_double_over_100_linear_layers():
    result = simulate_init(depth=100, width=512, init="xavier", batch=16)
    assert all(0.5 <= s <= 2.0 for s in result.std), (min(result.std), max(result.std))


def test_kaiming_gains_pay_back_what_tanh_and_relu_take():
    for activation, low, high in (("tanh", 0.5, 0.8), ("relu", 0.5, 2.0)):
        kaiming = simulate_init(depth=30, width=256, init="kaiming", activation=activation, batch=16)
        xavier = simulate_init(depth=30, width=256, init="xavier", activation=activation, batch=16)
        assert low <= kaiming.std[-1] <= high, (activation, kaiming.std[-1])
        assert xavier.std[-1] < kaiming.std[-1] / 3, (activation, xavier.std[-1])


def test_init_sim_command_prints_json_and_plots(tmp_path, capsys):
    assert (
        main(
            [
                "init-sim",
                "--depth",
                "8",
                "--width",
                "64",
                "--init",
                "kaiming",
                "--activation",
                "tanh",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert len(result["std"]) == 8 and result["weight_std"] == pytest.approx(5 / 3 / 8)
    pytest.importorskip("matplotlib")
    plot = tmp_path / "depth.png"
    assert main(["init-sim", "--depth", "8", "--width", "64", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "layer" in capsys.readouterr().out


def test_init_sim_rejects_bad_choices_in_one_line(capsys):
    assert main(["init-sim", "--init", "uniform"]) == 2
    assert main(["init-sim", "--activation", "sigmoid"]) == 2
    assert main(["init-sim", "--depth", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("charloom: error:") for line in err)
