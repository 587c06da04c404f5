"""Atomic file writes: a temp file beside the target, fsync, then rename.

Every write in ffbench goes through here so that a run killed at any moment leaves either the
old file or the new one, never half of one (docs/DESIGN.md, "Files"). Files get the usual
permissions (0666 & ~umask): `mkstemp` alone creates 0600 files, which surprises users who
share run directories.

Why `WriteError`: an OS error while writing (disk full ENOSPC, read-only EROFS, permission EACCES)
is the environment, not a bug and not a bad sample. Python's own message for a failed write() often
names no file; here it becomes ONE line naming the target path, an `FFBenchError` (printed without
a traceback) that is still an `OSError` (callers that catch OSError keep working).
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import FFBenchError

__all__ = ["WriteError", "os_error_message", "atomic_path", "atomic_write_bytes",
           "atomic_write_text", "atomic_write_json", "atomic_write_npy", "read_json",
           "read_json_checked"]


class WriteError(FFBenchError, OSError):
    """A file could not be written (disk full, read-only, permission): the path and the reason.
    `errno`/`filename` are those of the OS error; the message is ours (one line, path first)."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


def os_error_message(e: OSError, path=None, writing: bool = False) -> str:
    """'PATH: reason (hint)' for an OS error: `path` (the file we meant to write, not our temp
    file), else the path the error carries."""
    where = path if path is not None else getattr(e, "filename", None)
    reason = e.strerror or str(e) or type(e).__name__
    code = getattr(e, "errno", None) or 0
    hint = {28: " (disk full: free space and run the same command again)",
            122: " (disk quota exceeded)"}.get(code, "")
    if writing and code in (13, 30):  # EACCES, EROFS
        hint = " (use a writable --out)"
    return f"{where}: {reason}{hint}" if where else f"{reason}{hint}"


def _write_error(e: OSError, path) -> WriteError:
    if isinstance(e, WriteError):
        return e
    err = WriteError(f"cannot write {os_error_message(e, path, writing=True)}")
    err.errno, err.strerror, err.filename = e.errno, e.strerror, str(path)
    return err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temp path for a writer that needs a file name (PyAV, Pillow, np.save); on
    success it is renamed onto `path`, on error removed. An OSError (the writer's or ours) is
    raised as `WriteError` naming `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                   suffix=path.suffix if suffix is None else suffix)
        os.close(fd)
    except OSError as e:
        raise _write_error(e, path) from e
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise _write_error(e, path) from e
    finally:
        try:
            if tmp.exists():
                tmp.unlink()
        except OSError:
            pass


def atomic_write_bytes(path, data: bytes) -> Path:
    with atomic_path(path, suffix=".tmp") as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, indent: int = 1) -> Path:
    text = json.dumps(obj, indent=indent, ensure_ascii=False, default=str)
    return atomic_write_text(path, text + "\n")


def atomic_write_npy(path, array) -> Path:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_json_checked(path, what: str, remedy: str, error=None):
    """A JSON object from `path`, or ONE error naming the file, what it is, the reason and the
    remedy (a truncated, empty or hand-edited file; EACCES). `error`: the FFBenchError subclass
    to raise (default FFBenchError)."""
    error = error or FFBenchError
    try:
        obj = read_json(path)
    except OSError as e:
        raise error(f"{os_error_message(e, path)} (reading {what}); {remedy}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise error(f"{path}: damaged {what} ({type(e).__name__}: {e}); {remedy}") from None
    if not isinstance(obj, dict):
        raise error(f"{path}: damaged {what} (not a JSON object); {remedy}")
    return obj
