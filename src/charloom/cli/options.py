"""Flags generated from the config dataclasses, and read back into them.

Every described field of a config (``charloom.options.option``) becomes one flag: its
name, type, bounds' help, choices and grouping come from the field itself, so a new
option is declared once, where it is used. Flags default to None, which means "not
given": the config's own default then applies, and ``--resume`` can tell what the user
asked to change.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from charloom.data.corpus import parse_lines, read_text_file
from charloom.errors import CharloomError
from charloom.models.registry import FAMILIES, model_class
from charloom.options import flag_of, option_fields, value_type

MODEL = "model_"  # dest prefix of model options, which may share a name with another config's


def add_config_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    title: str | None = None,
    skip: tuple[str, ...] = (),
) -> None:
    """Add a flag for every described field of ``cls``: under ``title``, or under the
    heading each field's metadata names."""
    groups: dict[str | None, Any] = {}

    def group_for(name: str | None):
        if name not in groups:
            groups[name] = parser.add_argument_group(name) if name else parser
        return groups[name]

    for field in option_fields(cls):
        described = field.metadata
        if field.name in skip:
            continue
        target = group_for(title or described.get("group"))
        kind = value_type(cls, field.name)
        kwargs: dict[str, Any] = {"dest": field.name, "default": None, "help": described["help"]}
        if kind is bool:
            kwargs["action"] = "store_true" if field.default is False else argparse.BooleanOptionalAction
        elif described.get("repeat"):
            kwargs["action"] = "append"
        elif kind in (int, float) and not described.get("from_file"):
            kwargs["type"] = kind
        if "const" in described:
            kwargs.update(nargs="?", const=described["const"])
        for key in ("choices", "metavar"):
            if key in described:
                kwargs[key] = described[key]
        target.add_argument(flag_of(field), **kwargs)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (a ``from_file`` flag: the file's
    lines)."""
    options = {}
    for field in dataclasses.fields(cls):
        value = getattr(args, field.name, None)
        if value is None:
            continue
        if field.metadata.get("from_file"):
            value = parse_lines(read_text_file(value), value)
        options[field.name] = value
    return options


# -- model options: one flag per option name over every family, typed per family --------------
def add_model_flags(parser: argparse.ArgumentParser, also: tuple[str, ...] = ()) -> None:
    """The options of every family (``charloom models`` lists them), each flag once. A name
    in ``also`` belongs to another config as well (``--block-size``: the transformer's
    context, or the training window on running text for the other families)."""
    group = parser.add_argument_group("model options (each family takes its own; see `charloom models`)")
    owners: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for family, cls in FAMILIES.items():
        for field in dataclasses.fields(cls.config_class):
            owners.setdefault(field.name, []).append((family, field))
    for name, fields in owners.items():
        families = ", ".join(family for family, _ in fields)
        help_text = fields[0][1].metadata.get("help", "")
        if name in also:
            help_text += "; for other families, the training window on running text"
        flag = "--" + name.replace("_", "-")
        kinds = {value_type(FAMILIES[family].config_class, name) for family, _ in fields}
        if kinds == {bool}:
            group.add_argument(
                flag,
                dest=MODEL + name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} [{families}]",
            )
        else:
            group.add_argument(
                flag, dest=MODEL + name, default=None, metavar="V", help=f"{help_text} [{families}]"
            )


def model_options(args: argparse.Namespace, family: str, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """The model options given, typed for ``family``. One the family does not take is an
    error naming those it does, unless another config takes it too (``also``)."""
    config_class = model_class(family).config_class
    names = [f.name for f in dataclasses.fields(config_class)]
    options = {}
    for key, value in vars(args).items():
        if not key.startswith(MODEL) or value is None:
            continue
        name = key[len(MODEL) :]
        flag = "--" + name.replace("_", "-")
        if name not in names:
            if name in also:
                continue
            valid = ", ".join("--" + n.replace("_", "-") for n in names) or "none"
            raise CharloomError(f"{flag} does not apply to model {family!r}; its options: {valid}")
        kind = value_type(config_class, name)
        try:
            options[name] = value if kind is bool else kind(value)
        except ValueError:
            article = "an" if kind is int else "a"
            raise CharloomError(f"{flag} expects {article} {kind.__name__}, got {value!r}") from None
    return options


def shared_option(args: argparse.Namespace, family: str, name: str) -> Any:
    """A value given to a flag that two configs share, for the config that is not the
    model's: None when the family's config takes it."""
    names = {f.name for f in dataclasses.fields(model_class(family).config_class)}
    return None if name in names else getattr(args, MODEL + name, None)
