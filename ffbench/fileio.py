"""Atomic file writes: a temp file beside the target, fsync, then rename.

Every write in ffbench goes through here so that a run killed at any moment leaves either the
old file or the new one, never half of one (docs/DESIGN.md, "Files"). Files get the usual
permissions (0666 & ~umask): `mkstemp` alone creates 0600 files, which surprises users who
share run directories.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
           "atomic_write_npy", "read_json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temp path for a writer that needs a file name (PyAV, Pillow, np.save); on
    success it is renamed onto `path`, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                               suffix=path.suffix if suffix is None else suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
