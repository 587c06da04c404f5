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
    _add_common_options(parser)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser):
    """Every parser that runs a command (has subparsers of none of its own)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if not subs:
        yield parser
        return
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            yield from _leaf_parsers(child)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """`-q/--quiet` on every command (progress bars off; ffbench.progress), added here once so
    command modules need not repeat it; a command that defines its own keeps it."""
    from .progress import add_quiet_flag

    for leaf in _leaf_parsers(parser):
        if leaf is not parser:
            add_quiet_flag(leaf)


def _report_error(args, exc: BaseException) -> int:
    """One error prefix everywhere (`ffbench: error:` on stderr); in `--json` mode also the
    error as a JSON object on stdout (commands/_util.py documents the convention)."""
    print(f"ffbench: error: {exc}", file=sys.stderr)
    if getattr(args, "json", False):
        from .commands._util import error_object, print_json

        print_json(error_object(exc))
    return 2


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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # known failure types print cleanly; anything else keeps its traceback
        from .errors import is_user_error

        if is_user_error(e):
            return _report_error(args, e)
        if isinstance(e, OSError):  # disk full, read-only, permission: the environment, one line
            from .fileio import os_error_message

            try:  # same type (the --json "type"), message "PATH: reason"
                one_line = type(e)(os_error_message(e))
            except Exception:  # noqa: BLE001 - an OSError subclass with another signature
                one_line = OSError(os_error_message(e))
            return _report_error(args, one_line)
        if getattr(args, "json", False):  # a bug: the traceback follows on stderr
            from .commands._util import error_object, print_json

            print_json(error_object(e))
        raise


if __name__ == "__main__":
    sys.exit(main())
