"""The `ffbench` command.

Each command group lives in its own module under `ffbench.commands` and defines
`register(subparsers)`, which adds its parser and sets `func` (a handler returning an exit
code). Modules are discovered here, so adding a command never edits this file. Handlers import
heavy libraries (torch, metrics, models) lazily so that `--help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands


class CLIError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ffbench",
        description="Benchmark and evaluation suite for text-to-video generation "
                    "(FusionFrames / Kandinsky Video 1.0 and baselines).",
    )
    parser.add_argument("--version", action="version", version=f"ffbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # a group without a subcommand: show that group's help
        (getattr(args, "_parser", None) or parser).print_help()
        return 0 if args.command is None else 2
    try:
        return int(func(args) or 0)
    except CLIError as e:
        print(f"ffbench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # known failure types print cleanly; anything else keeps its traceback
        from .errors import is_user_error

        if is_user_error(e):
            print(f"ffbench: error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
