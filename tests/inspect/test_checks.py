"""Checks say what they saw, the cause and the fix; thresholds are the lectures' rules."""

from __future__ import annotations

import math

import pytest

from charloom.inspect.diagnostics.checks import (
    EXPLODE_STEPS,
    check_initial_loss,
    check_loss_curve,
    check_records,
    check_update_ratios,
    per_step_losses,
    worst,
)


def test_initial_loss_against_ln_vocab():
    assert check_initial_loss(math.log(27) + 0.01, 27).level == "ok"
    assert check_initial_loss(math.log(27) + 0.3, 27).level == "note"
    far = check_initial_loss(27.0, 27)
    assert far.level == "warning" and "confidently wrong" in far.message and "ln(27) = 3.2958" in far.message
    assert check_initial_loss(math.nan, 27).level == "warning"


def records_with(updates: dict[str, float], lr: float = 1e-3, steps=(100, 110, 120)) -> list[dict]:
    params = [{"name": name, "shape": [4, 4]} for name in updates] + [{"name": "bias", "shape": [4]}]
    return [{"step": s, "lr": lr, "params": params, "updates": {**updates, "bias": -9.0}} for s in steps]


def test_update_ratio_far_below_the_guide_says_raise_the_learning_rate():
    [finding] = check_update_ratios(records_with({"w1": -5.2, "w2": -3.0}))
    assert finding.level == "warning" and finding.subject == "w1"
    assert "raise the learning rate" in finding.message
    assert "w2" not in finding.message and "bias" not in finding.message  # matrices only, and only the bad


def test_update_ratio_far_above_the_guide_says_lower_it():
    [finding] = check_update_ratios(records_with({"w1": -0.8}))
    assert finding.level == "warning" and "lower the learning rate" in finding.message


def test_muons_matrices_are_not_held_to_the_rule_of_thumb():
    records = records_with({"w1": -0.8, "w2": -3.0})
    assert check_update_ratios(records)[0].level == "warning"
    assert check_update_ratios(records, muon=["w1"])[0].level == "ok"  # Muon's large steps are by design


def test_update_ratio_is_judged_at_the_peak_learning_rate_and_after_warmup():
    # decayed to a tenth of the peak: -4.5 at lr 1e-4 is -3.5 at the peak 1e-3, fine
    assert check_update_ratios(records_with({"w": -4.5}, lr=1e-4), peak_lr=1e-3)[0].level == "ok"
    assert check_update_ratios(records_with({"w": -4.5}, lr=1e-4))[0].level == "warning"
    assert check_update_ratios(records_with({"w": -6.0}), warmup_steps=1000) == []


def test_loss_curve_nan_spike_and_explosion():
    assert check_loss_curve([3.0, math.nan], 3.0).level == "error"
    assert check_loss_curve([3.0, 2.5, 2.2], 3.0).level == "ok"
    assert check_loss_curve([3.0, 12.0, 2.4], 3.0).level == "warning"
    exploded = check_loss_curve([3.0] + [10.0] * EXPLODE_STEPS, 3.0, start_step=5)
    assert exploded.level == "error" and exploded.step == 5 + EXPLODE_STEPS
    assert "lower --lr" in exploded.message


def test_per_step_losses_join_the_recorded_windows():
    records = [
        {"step": 0, "recent_losses": [3.0]},
        {"step": 3, "recent_losses": [2.9, 2.8, 2.7]},
        {"step": 5, "recent_losses": [2.6, 2.5]},
    ]
    assert per_step_losses(records) == ([0, 1, 2, 3, 4, 5], [3.0, 2.9, 2.8, 2.7, 2.6, 2.5])


def test_check_records_of_a_run_and_the_worst_level():
    act = {"saturated": 0.6, "dead": 0.0, "dead_units": 0}
    layer = {"name": "h", "kind": "tanh", "units": 10, "act": act}
    records = [{"step": 0, "loss": 9.0, "layers": [layer], "params": [], "recent_losses": [9.0]}]
    findings = check_records(records, vocab_size=27)
    assert {f.check: f.level for f in findings} == {
        "initial-loss": "warning",
        "saturation": "warning",
        "dead-units": "ok",
        "loss": "ok",
    }
    assert worst(findings) == "warning" and worst([]) == "ok"
    assert all(f.to_json()["message"] == f.message for f in findings)


@pytest.mark.parametrize("level", ["ok", "warning"])
def test_a_finding_prints_on_one_line(level):
    finding = check_initial_loss(3.3 if level == "ok" else 30.0, 27)
    assert finding.line().startswith(f"check initial-loss [{level}] step 0: ") and "\n" not in finding.line()
