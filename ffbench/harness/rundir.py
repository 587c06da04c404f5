"""The run directory (layout: docs/RUN_DIR.md): atomic writes, resume state, config binding.

Why atomic everywhere: a run is killed at arbitrary moments (kill -9, OOM, pre-emption). Every
file is written to a temp file in the same folder and renamed into place, so a file either
exists complete or not at all; resume then trusts existence. Leftover temp files (names start
with '.') are ignored and swept on the next start.

File names come only from sample ids checked against `SAFE_ID` — never from prompt text.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError, FFBenchError
from ..fileio import atomic_write_bytes, atomic_write_json, atomic_write_npy, read_json

__all__ = ["RunDir", "RunDirError", "SAFE_ID", "check_id", "atomic_write_bytes",
           "atomic_write_json", "atomic_write_npy"]

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
    def is_generated(self, sid: str) -> bool:
        # the .json is written after the .npy, so its presence means the sample is complete
        return self.sample(sid, "json").is_file() and self.sample(sid, "npy").is_file()

    def is_ready(self, item) -> bool:
        """A plan item's video is there: its own file (a folder evaluated as it is), or the
        generated sample."""
        if getattr(item, "path", None):
            return Path(item.path).exists()
        return self.is_generated(item.sample_id)

    def has_feature(self, key: str, sid: str) -> bool:
        return self.feature(key, sid).is_file()

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
        self.root.mkdir(parents=True, exist_ok=True)
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
        except (OSError, ValueError) as e:
            raise RunDirError(f"{self.run_json}: unreadable ({e}); this is not a run directory "
                              "written by ffbench") from None
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
