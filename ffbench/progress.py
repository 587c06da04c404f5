"""Progress bars for every command that takes more than a second: one helper, one `--quiet`.

Why one helper: commands used to print nothing until done (issue 22), and each hand-rolled bar
decided differently where to write and when to stay silent. Here the rule is fixed once:

- bars are tqdm bars written to **stderr**, so stdout stays clean for results and `--json`;
- they are off with `--quiet` (`quiet=True`) and whenever stderr is not a terminal (a log
  file, a pipe, CI, a test), so logs never fill with carriage-return noise;
- `FFBENCH_PROGRESS=1` forces them on (e.g. to watch a job through `tee`), `=0` forces them off.

Usage (the lead's engine and every command call the same thing)::

    from ffbench.progress import progress
    for sample in progress(samples, desc="generate", unit="video", quiet=args.quiet):
        ...
    with progress(total=n, desc="I3D features", unit="video", quiet=args.quiet) as bar:
        bar.update(batch)

A disabled bar is still a working tqdm object (iteration and `update` are no-ops), so callers
never branch on whether a bar is shown.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable

__all__ = ["progress", "progress_enabled", "add_quiet_flag", "ENV_PROGRESS"]

ENV_PROGRESS = "FFBENCH_PROGRESS"


def progress_enabled(quiet: bool = False, stream=None) -> bool:
    """Whether a bar would be drawn: not quiet, and stderr is a terminal (or forced by env)."""
    if quiet:
        return False
    forced = os.environ.get(ENV_PROGRESS, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "it", quiet: bool = False, leave: bool = False, **kwargs):
    """A tqdm bar on stderr, disabled by `quiet` or a non-terminal stderr (module docstring).

    `iterable`/`total`/`desc`/`unit` are tqdm's; `leave=False` clears the bar when done (the
    command prints its own summary). Extra keyword arguments go to tqdm unchanged.
    """
    from tqdm import tqdm

    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                disable=not progress_enabled(quiet), dynamic_ncols=True, **kwargs)


QUIET_HELP = "no progress bars (they are also off when stderr is not a terminal)"


def add_quiet_flag(parser, help: str = QUIET_HELP) -> None:
    """The one `-q/--quiet` option of every command (README: "Every command has `--help` and
    `-q/--quiet`"): no progress bars and no chatter on stderr; dest `quiet`.

    Command modules call this instead of defining `--quiet` themselves (`help` may say what
    else the command keeps quiet); `ffbench.cli` adds it to every command that did not, and
    refuses at build time a command that defined a `--quiet` of its own without `-q`, so the
    two spellings can never drift apart again (tests/test_cli_promises.py walks every command).
    Calling it twice on one parser is a no-op.
    """
    for action in parser._actions:  # noqa: SLF001 - argparse has no public action list
        if "--quiet" in action.option_strings or "-q" in action.option_strings:
            if set(action.option_strings) != {"-q", "--quiet"} or action.dest != "quiet":
                raise ValueError(f"{parser.prog}: defines {'/'.join(action.option_strings)} itself; "
                                 "use ffbench.progress.add_quiet_flag (one -q/--quiet everywhere)")
            return
    parser.add_argument("-q", "--quiet", action="store_true", help=help)
