"""Options as dataclass fields that describe themselves.

A config (how to train, how to sample) is a plain dataclass; each field's metadata holds
its help text, its bounds and whether it may change when a run is resumed. Validation,
the command line's flags and ``charloom models`` all read that one description, so an
option is declared once.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     steps: int = option(10, help="how many", minimum=1)
...     def __post_init__(self):
...         check_options(self)
>>> Demo(0)
Traceback (most recent call last):
...
charloom.errors.CharloomError: steps must be at least 1, got 0
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from charloom.errors import CharloomError


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    unit: str = "",
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    flag: str | None = None,
    const: Any = None,
    resumable: bool = False,
    repeat: bool = False,
    from_file: bool = False,
    group: str | None = None,
) -> Any:
    """A dataclass field with its description. ``minimum``/``maximum`` and
    ``above``/``below`` bound a number (inclusive, exclusive); ``flag`` names the
    command-line flag when it is not the field's name; ``const`` makes the flag's value
    optional (given bare, it is ``const``); ``resumable``: ``--resume`` may change it;
    ``repeat``: the flag may be given several times, for a list; ``from_file``: on the
    command line the flag names a file whose lines are the value; ``group``: the heading
    it is listed under in --help."""
    described = {
        "help": help,
        "minimum": minimum,
        "maximum": maximum,
        "above": above,
        "below": below,
        "unit": unit,
        "choices": choices,
        "metavar": metavar,
        "flag": flag,
        "const": const,
        "resumable": resumable,
        "repeat": repeat,
        "from_file": from_file,
        "group": group,
    }
    metadata = {key: value for key, value in described.items() if value is not None and value is not False}
    if not unit:
        metadata.pop("unit")
    return dataclasses.field(default=default, metadata=metadata)


SEED_LIMIT = 2**63  # torch's generators take seeds below this


def check_seed(seed: int | None, flag: str = "--seed") -> None:
    """A seed torch's generators can take: a whole number in [0, 2**63)."""
    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise CharloomError(f"{flag} must be a whole number from 0 to 2**63 - 1, got {seed}"[:200])


def check_count(n: int) -> None:
    """How many items to make (``-n``, ``n=``): at least one."""
    if n < 1:
        raise CharloomError(f"-n must be at least 1, got {n}")


def option_fields(cls: Any) -> list[dataclasses.Field]:
    """The fields of a dataclass made with ``option()`` (those with help): the options, not
    its plain fields (a processor's ``lines``, ``Decoding.controls``)."""
    return [field for field in dataclasses.fields(cls) if "help" in field.metadata]


def flag_of(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def value_type(cls: type, name: str) -> type:
    """The type a field holds, ``Optional`` and unions with None taken off: int for
    ``int | None``. Read from the annotations themselves, not from their text."""
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)]
        hint = kinds[0]
    return typing.get_origin(hint) or hint


def check_options(config: Any) -> None:
    """Check every field against the bounds and choices its metadata gives; a value out
    of them is the user's error, named by its flag in one sentence."""
    for field in dataclasses.fields(config):
        value, described = getattr(config, field.name), field.metadata
        if value is None or isinstance(value, bool):
            continue
        flag = flag_of(field)
        choices = described.get("choices")
        if choices is not None and value not in choices:
            raise CharloomError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
        if not isinstance(value, (int, float)):
            continue
        bounded = any(key in described for key in ("minimum", "maximum", "above", "below"))
        if bounded and not math.isfinite(value):
            raise CharloomError(f"{flag} must be a finite number, got {value}")
        unit = described.get("unit", "")
        minimum, above, below = described.get("minimum"), described.get("above"), described.get("below")
        maximum = described.get("maximum")
        if minimum is not None and value < minimum:
            least = "at least 1" if minimum == 1 else f">= {_number(minimum)}"
            raise CharloomError(f"{flag} must be {least}{unit}, got {value}")
        if maximum is not None and value > maximum:
            raise CharloomError(f"{flag} must be <= {_number(maximum)}{unit}, got {value}")
        if above is not None and not value > above:
            raise CharloomError(f"{flag} must be above {_number(above)}{unit}, got {value}")
        if below is not None and not value < below:
            raise CharloomError(f"{flag} must be below {_number(below)}{unit}, got {value}")


def _number(bound: float) -> str:
    return f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"


def check_types(cls: type, values: dict[str, Any], where: str) -> None:
    """Check plain data (a run.json section) against the field types of ``cls`` before it is
    built: an int field holds an int (not a bool), a float field a number, a bool field a
    bool, a str field a str; None only where the field allows it."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name not in hints:
            continue
        optional = type(None) in typing.get_args(hints[name])
        if value is None:
            if not optional:
                raise CharloomError(f"{where}: {name} must not be null")
            continue
        kind = value_type(cls, name)
        fits = {
            int: isinstance(value, int) and not isinstance(value, bool),
            float: isinstance(value, (int, float)) and not isinstance(value, bool),
            bool: isinstance(value, bool),
            str: isinstance(value, str),
        }.get(kind, True)
        if not fits:
            raise CharloomError(f"{where}: {name} must be {kind.__name__}, got {value!r}"[:300])
