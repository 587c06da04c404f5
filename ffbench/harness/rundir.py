"""The run directory (layout: docs/RUN_DIR.md): atomic writes, resume state, config binding.

Why atomic everywhere: a run is killed at arbitrary moments (kill -9, OOM, pre-emption). Every
file is written to a temp file in the same folder and renamed into place, so a file either
exists complete or not at all; resume then trusts existence. Leftover temp files (names start
with '.') are ignored and swept on the next start.

File names come only from sample ids checked against `SAFE_ID` — never from prompt text.

Why validate on read too: atomic writes protect against our own crashes, not against a disk that
tears a file, a user who truncates or edits one, or a copy that stopped half-way. So a sample
counts as done only when its .json parses and its .npy header and size agree with it, and a
feature file only when its .npy is whole (`npy_problem`); anything else is redone (logged with
the file name), never read as if it were fine.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError, FFBenchError
from ..fileio import (WriteError, atomic_write_bytes, atomic_write_json, atomic_write_npy,
                      os_error_message, read_json)

__all__ = ["RunDir", "RunDirError", "SAFE_ID", "check_id", "atomic_write_bytes",
           "atomic_write_json", "atomic_write_npy", "npy_problem", "crash_point"]

log = logging.getLogger(__name__)

SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class RunDirError(FFBenchError):
    """The run directory cannot be used as asked (other config, incomplete shards, ...)."""


def check_id(sample_id: str) -> str:
    """A sample id that is safe as a file name, or an error (never sanitise silently: two ids
    sanitised alike would overwrite each other)."""
    if not isinstance(sample_id, str) or not SAFE_ID.match(sample_id) or ".." in sample_id:
        raise ConfigError(f"sample id {sample_id!r} is not a safe file name "
                          f"(lowercase letters, digits, '.', '_', '-'; no '..')")
    return sample_id


def npy_problem(path, shape=None, dtype=None) -> str | None:
    """None when `path` is a whole .npy file (magic, header, and exactly the bytes the header
    promises; no object arrays), else what is wrong. `shape`/`dtype`: what it must hold.
    Reads the header only (a few hundred bytes), never the array."""
    import numpy as np
    from numpy.lib import format as npf

    try:
        with open(path, "rb") as fh:
            version = npf.read_magic(fh)
            read = npf.read_array_header_1_0 if version == (1, 0) else npf.read_array_header_2_0
            got_shape, _, got_dtype = read(fh)
            offset = fh.tell()
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return os_error_message(e, path)
    except (ValueError, EOFError, SyntaxError, TypeError) as e:
        return f"not a whole .npy file ({type(e).__name__}: {e})"
    if got_dtype.hasobject:
        return "holds Python objects"
    want = offset + int(np.prod(got_shape, dtype=np.int64)) * got_dtype.itemsize
    if size != want:
        return f"truncated or padded ({size} bytes, the header promises {want})"
    if shape is not None and list(got_shape) != list(shape):
        return f"shape {list(got_shape)}, its .json says {list(shape)}"
    if dtype is not None and got_dtype != np.dtype(dtype):
        return f"dtype {got_dtype}, expected {np.dtype(dtype)}"
    return None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunDir:
    """Paths and state of one run directory."""

    def __init__(self, root):
        self.root = Path(root)
        self._warned: set = set()
        # whole samples / feature files found so far: checked once per process (they are only
        # ever replaced by whole files), so the several stages that ask cost one read each
        self._whole_samples: dict[str, dict] = {}
        self._whole_features: set = set()

    def _redo(self, path: Path, problem: str) -> bool:
        """Log once that `path` is damaged and will be recomputed; returns False (not done)."""
        if path not in self._warned:
            self._warned.add(path)
            log.warning("%s: %s; redoing it", path, problem)
        return False

    # --- paths (ids are checked on every use) ----------------------------------------------
    def sample(self, sid: str, ext: str) -> Path:
        return self.root / "samples" / f"{check_id(sid)}.{ext}"

    def preview(self, sid: str) -> Path:
        return self.root / "previews" / f"{check_id(sid)}.jpg"

    def feature(self, key: str, sid: str) -> Path:
        return self.root / "features" / check_id(key) / f"{check_id(sid)}.npy"

    def error(self, sid: str) -> Path:
        return self.root / "errors" / f"{check_id(sid)}.json"

    def shard_done(self, rank: int) -> Path:
        return self.root / "shards" / f"{int(rank)}.done"

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def plan_jsonl(self) -> Path:
        return self.root / "plan.jsonl"

    @property
    def results_json(self) -> Path:
        return self.root / "results.json"

    def real_stats(self, key: str) -> Path:
        return self.root / "real" / f"{check_id(key)}.npz"

    # --- state -----------------------------------------------------------------------------
    def sample_info(self, sid: str) -> dict | None:
        """samples/ID.json of a whole sample (its .npy agrees with it), else None (absent or
        damaged: the sample is generated again; the damaged file is named in the log)."""
        if sid in self._whole_samples:
            return self._whole_samples[sid]
        js, npy = self.sample(sid, "json"), self.sample(sid, "npy")
        if not js.is_file():
            return None
        try:
            info = read_json(js)
            shape = [int(info["frames"]), int(info["height"]), int(info["width"]), 3]
        except (OSError, ValueError, KeyError, TypeError) as e:
            return self._redo(js, f"damaged sample record ({type(e).__name__}: {e})") or None
        problem = npy_problem(npy, shape, "uint8")
        if problem is not None:
            return self._redo(npy, problem) or None
        self._whole_samples[sid] = info
        return info

    def is_generated(self, sid: str) -> bool:
        # the .json is written after the .npy, so a .json that agrees with a whole .npy means
        # the sample is complete
        return self.sample_info(sid) is not None

    def mp4_missing(self, sid: str) -> bool:
        """A complete sample whose .json says an .mp4 was written, but the .mp4 is gone or
        empty (deleted, or lost to a full disk): `runner` writes it again from the exact .npy."""
        info = self.sample_info(sid)
        if not info or info.get("mp4") is not True:
            return False
        p = self.sample(sid, "mp4")
        try:
            return p.stat().st_size == 0
        except OSError:
            return True

    def is_ready(self, item) -> bool:
        """A plan item's video is there: its own file (a folder evaluated as it is), or the
        generated sample."""
        if getattr(item, "path", None):
            return Path(item.path).exists()
        return self.is_generated(item.sample_id)

    def has_feature(self, key: str, sid: str) -> bool:
        """A whole features/KEY/ID.npy (a truncated one is recomputed)."""
        p = self.feature(key, sid)
        if p in self._whole_features:
            return True
        if not p.is_file():
            return False
        problem = npy_problem(p)
        if problem is not None:
            return self._redo(p, problem)
        self._whole_features.add(p)
        return True

    def failure(self, sid: str) -> dict | None:
        p = self.error(sid)
        if not p.is_file():
            return None
        try:
            return read_json(p)
        except (OSError, ValueError):
            return {"sample_id": sid, "stage": "unknown", "error": f"unreadable {p.name}"}

    def failures(self) -> dict[str, dict]:
        d = self.root / "errors"
        out = {}
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                out[p.stem] = self.failure(p.stem)
        return out

    def sweep_temp(self) -> int:
        """Remove temp files a killed writer left behind (ours start with '.' and end '.tmp')."""
        n = 0
        if not self.root.is_dir():
            return 0
        for p in self.root.rglob(".*.tmp"):
            try:
                p.unlink()
                n += 1
            except OSError:
                pass
        return n

    # --- binding a config --------------------------------------------------------------------
    def bind(self, config, ffbench_version: str) -> dict:
        """Create run.json for `config`, or check that the existing one has the same config.

        Creation is race-free across ranks and nodes: the file is written to a temp name and
        hard-linked into place (link fails if the name exists), so exactly one writer wins and
        every other reads and compares.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return self._bind(config, ffbench_version)
        except WriteError:
            raise
        except OSError as e:
            raise WriteError(f"cannot write {os_error_message(e, self.run_json, True)}") from None

    def holds_only_run_json(self) -> bool:
        """Nothing but run.json (and temp files) here: a config error stopped the last command
        before it planned or wrote anything, so a corrected config may take the directory."""
        return all(p.name == "run.json" or p.name.startswith(".") for p in self.root.iterdir())

    def _bind(self, config, ffbench_version: str) -> dict:
        if not self.run_json.exists():
            info = {"run_id": uuid.uuid4().hex[:16], "config": config.result_dict(),
                    "config_hash": config.hash,
                    "created_at": datetime.now(timezone.utc).isoformat(),
                    "ffbench_version": ffbench_version}
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".run.json.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(info, fh, indent=1, ensure_ascii=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o644)
                try:
                    os.link(tmp, self.run_json)
                except FileExistsError:
                    pass
            finally:
                os.unlink(tmp)
            _fsync_dir(self.root)
        try:
            info = read_json(self.run_json)
            if not isinstance(info, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            raise RunDirError(f"{self.run_json}: unreadable or damaged ({e}); not a run directory "
                              "ffbench can resume: use a new --out directory") from None
        if info.get("config_hash") != config.hash and self.holds_only_run_json():
            # the run that wrote it stopped before planning (e.g. a typo found late): nothing
            # here depends on the old config, so the corrected one takes the directory
            log.warning("%s: replacing the config of a run that never started", self.run_json)
            info = {**info, "config": config.result_dict(), "config_hash": config.hash}
            atomic_write_json(self.run_json, info)
        if info.get("config_hash") != config.hash:
            old = info.get("config", {})
            new = config.result_dict()
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            detail = "; ".join(f"{k}: {old.get(k)!r} here, {new.get(k)!r} asked" for k in diff[:6])
            raise RunDirError(
                f"{self.root} already holds a run with a different config ({detail or 'hash differs'}). "
                "Use a new --out directory, or repeat the original config to resume it.")
        return info


# --- crash points for the resume tests ---------------------------------------------------------
_CRASH_COUNTS: dict[str, int] = {}


def crash_point(stage: str) -> None:
    """SIGKILL this process at the N-th pass through `stage` when FFBENCH_CRASH_AT="stage:N".

    Why in the product: the resume guarantee is only worth something if it is tested against a
    real kill -9 at known points (mid-generation, mid-features, before results). The variable
    is never set outside tests; unset, this is one dict lookup.
    """
    spec = os.environ.get("FFBENCH_CRASH_AT")
    if not spec:
        return
    want, _, count = spec.partition(":")
    if want != stage:
        return
    _CRASH_COUNTS[stage] = _CRASH_COUNTS.get(stage, 0) + 1
    if _CRASH_COUNTS[stage] >= int(count or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
