"""One error, two spellings: the Python API names the parameter a caller wrote, the
command line the flag a user typed."""

import pytest

import charloom
from charloom.cli import main
from charloom.data.config import DataConfig
from charloom.errors import CharloomError, parameter_spelling, spoken_as_flags
from charloom.generate.pipeline import declaring_classes
from charloom.models.registry import FAMILIES
from charloom.options import flag_of, option_fields
from charloom.train.config import TrainConfig


def test_a_bound_names_the_parameter_in_python_and_the_flag_on_the_command_line(tmp_path, capsys):
    with pytest.raises(CharloomError, match="^max_steps must be at least 1, got 0$"):
        charloom.train("names", "bigram", max_steps=0, out=tmp_path / "api")
    with pytest.raises(CharloomError, match="^diagnostics_every must be at least 1"):
        TrainConfig(diagnostics_every=0)
    assert (
        main(["train", "names", "--model", "bigram", "--max-steps", "0", "--out", str(tmp_path / "cli")]) == 2
    )
    assert capsys.readouterr().err.strip() == "charloom: error: --max-steps must be at least 1, got 0"
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


def test_every_option_flag_reads_back_as_its_parameter():
    classes = [
        TrainConfig,
        DataConfig,
        *declaring_classes(),
        *(family.config_class for family in FAMILIES.values()),
    ]
    for cls in classes:
        for field in option_fields(cls):
            assert parameter_spelling(flag_of(field)) == field.name, (cls.__name__, field.name)


def test_only_flags_are_respelled_not_the_values_quoted_beside_them():
    error = CharloomError("--lr-schedule takes STEP:LR pairs, got '--0:1' (see runs/--old, n--1, -n 3)")
    assert str(error) == "lr_schedule takes STEP:LR pairs, got '--0:1' (see runs/--old, n--1, n 3)"
    with spoken_as_flags():
        assert str(error) == error.args[0]
        assert error.spelled(flags=False).startswith("lr_schedule")  # a server's answer
    assert str(error).startswith("lr_schedule")  # the spelling is back with the block's end
    assert parameter_spelling("train again without --no-pooled") == "train again without pooled=False"
