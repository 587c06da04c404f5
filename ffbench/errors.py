"""Error types users see. The CLI prints these as one clear message instead of a traceback.

This module imports nothing of ffbench: every error type of the package (VideoError,
WeightsError, ProtocolError, StatsError, RunDirError, ...) derives from `FFBenchError`.
"""
from __future__ import annotations


class FFBenchError(Exception):
    """Base of ffbench's own user-facing errors (bad input, bad config, missing data)."""


class ConfigError(FFBenchError, ValueError):
    """A configuration file or option is invalid; the message names the key and the file."""


def is_user_error(exc: BaseException) -> bool:
    """True for errors caused by input or environment rather than by a bug in ffbench."""
    return isinstance(exc, (FFBenchError, FileNotFoundError))


def did_you_mean(name: str, known) -> str:
    """" Did you mean A, B?" for a misspelt `name` among `known` (difflib's close matches, else
    the known names it is a prefix of), or "": the one suggestion of every unknown-name error
    (models, metrics, protocols, choices of a command-line option)."""
    import difflib

    known = [str(k) for k in known]
    close = difflib.get_close_matches(str(name), known, n=3)
    if not close and name:
        close = [k for k in known if k.startswith(str(name))][:3]
    return f" Did you mean {', '.join(close)}?" if close else ""
