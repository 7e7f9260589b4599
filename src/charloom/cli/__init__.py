"""The ``charloom`` command: parses arguments, calls the Python API, prints.

Commands are grouped by area, each module registering its own: ``train``; ``generate``
(sample, score, eval); ``inspect`` (data, datasets, models, neurons, diagnose,
init-sim); ``transfer`` (train-categories, transfer). No logic lives here beyond
presentation.
"""

# Each module registers its commands, in the order `charloom --help` lists them.
from charloom.cli import train  # noqa: I001, F401
from charloom.cli import generate, play, inspect, compare, study, transfer, lr_find, serve, export  # noqa: F401
from charloom.cli.app import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
