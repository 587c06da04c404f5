"""Error types users see. The CLI prints these as one clear message instead of a traceback."""
from __future__ import annotations


class FFBenchError(Exception):
    """Base of ffbench's own user-facing errors (bad input, bad config, missing data)."""


class ConfigError(FFBenchError, ValueError):
    """A configuration file or option is invalid; the message names the key and the file."""


def is_user_error(exc: BaseException) -> bool:
    """True for errors caused by input or environment rather than by a bug in ffbench."""
    from .protocols import ProtocolError
    from .weights import WeightsError

    if isinstance(exc, (FFBenchError, WeightsError, ProtocolError, FileNotFoundError)):
        return True
    try:
        from .video import VideoError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, VideoError)
