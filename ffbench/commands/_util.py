"""Helpers shared by command modules."""
from __future__ import annotations

import argparse
import json
import sys


def add_group(subparsers, name: str, help: str, description: str | None = None):
    """A command group (e.g. `ffbench weights`) whose own subcommands are added by the caller."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    parser.set_defaults(func=None, _parser=parser)
    return parser, parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def add_command(subparsers, name: str, help: str, func, description: str | None = None,
                **kw) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help, description=description or help, **kw)
    parser.set_defaults(func=func, _parser=parser)
    return parser


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned text table (for humans; --json is for machines)."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c)
              for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())
