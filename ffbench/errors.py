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
