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


class _Parser(argparse.ArgumentParser):
    """argparse, with a "Did you mean" on an invalid choice (`--protocol fvd@stylgan-v...`),
    like every other unknown-name error (ffbench.errors.did_you_mean). Subcommand parsers
    inherit the class."""

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            from .errors import did_you_mean

            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}.{did_you_mean(value, action.choices)} "
                        f"(choose from {choices})")
        super()._check_value(action, value)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) of every parser that runs a command (has no subcommands of its
    own), e.g. (("evaluate", "fvd"), <parser>). Aliases are yielded once."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if not subs:
        yield path, parser
        return
    for action in subs:
        seen = set()
        for name, child in action.choices.items():
            if id(child) not in seen:
                seen.add(id(child))
                yield from leaf_parsers(child, path + (name,))


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """`-q/--quiet` on every command (progress bars off; ffbench.progress.add_quiet_flag, the
    one definition), added here to each command that did not add it itself; a command that
    defined a `--quiet` of its own without `-q` is refused (ValueError) when the parser is built."""
    from .progress import add_quiet_flag

    for path, leaf in leaf_parsers(parser):
        if path:
            add_quiet_flag(leaf)


def _parse(parser: argparse.ArgumentParser, argv):
    """parse_args, except that an unrecognised argument is reported by the command's own parser
    (`usage: ffbench run ...`), not the top-level one; and `--no-store` with a `--db` is refused
    on every command (commands._util.add_store_flags makes them exclusive in argparse; this
    covers a command that defines the two options itself)."""
    args, extra = parser.parse_known_args(argv)
    own = getattr(args, "_parser", None) or parser
    if extra:
        own.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "no_store", False) and getattr(args, "db", None) not in (None, ""):
        own.error("argument --no-store: not allowed with argument --db")
    return args


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
    args = _parse(parser, argv)
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
