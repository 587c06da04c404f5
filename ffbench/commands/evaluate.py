"""`ffbench evaluate METRIC ...`: score videos with one metric family.

Each metric family adds its subcommand from a module `ffbench/commands/evaluate_<family>.py`
that defines `register_evaluate(subparsers)`; they are discovered here.
"""
from __future__ import annotations

import importlib
import pkgutil

from . import __path__ as _commands_path
from ._util import add_group


def register(subparsers) -> None:
    _, sub = add_group(subparsers, "evaluate", help="score videos with a metric (fvd, is, clipsim, kvd, fid, kid, jedi, reconstruction)")
    for info in sorted(pkgutil.iter_modules(_commands_path), key=lambda m: m.name):
        if info.name.startswith("evaluate_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            module.register_evaluate(sub)
