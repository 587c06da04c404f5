"""`ClipLoader`: clips of many files decoded in DataLoader worker processes, one result per file.

The one decoding mechanism of the engine: the fake side (`ffbench.harness.features`) and the
real side (`ffbench.data.realvideos.RealVideoSet`) both read through it, so decoding overlaps
the extractor (workers decode ahead, `prefetch_factor` items each) and errors stay per file.

A corrupt or short file must not end an evaluation of thousands of videos, and must not vanish
either: every item comes back as `ClipItem(index, clip, error)` — `clip` a uint8
`[num_frames,H,W,3]` tensor and `error` None, or `clip` None and `error` a reason:
  "too short (N frames < M)"   the video has fewer frames than the clip rule needs (M is the
                               rule's `threshold` when it has one, else the clip's span);
  "missing: ..."               the file is gone;
  "corrupt: ..."               any decoding error, with the reader's reason.
`failures[index]` then holds a `Failure` (kind, reason, the exception as "Type: message" —
the clip rule's own `ShortVideoError` text for a short video — and the worker's traceback), so
a caller can record it as if it had raised in-process.
Items arrive in request order whatever `num_workers` is (DataLoader keeps order), so "the first
N usable videos" is exact. Each worker probes the file for its frame count (`probe`), asks the
request's start rule for the offset, then decodes only the clip (`read_clip`); a request with
`num_frames=None` reads the whole video (`read_video`: CLIPSIM scores every frame).

Where pixels are converted: YUV -> RGB24 happens in the worker (PyAV/swscale, as every
reference loader does); frames stay uint8 at full size. Resizing is NOT moved into the workers:
every protocol resizes float tensors inside its extractor (I3D's TorchScript detector even inside
the network), on the extractor's device, and a CPU resize in a worker would not be bit-identical
to it (and float frames would cost 4x the bytes to pass between processes).

A start rule is an int, or a picklable object with `offset(total_frames, key) -> int` (e.g.
`ffbench.clips.ClipSpec`, whose offset is seeded by `key`, so it does not depend on worker
count or order).

Worker count: an explicit `num_workers`, else `default_workers()`: the value set by
`decode_workers(n)` (the commands set it from `--workers` / the run config's `workers`), else
min(4, CPUs). 0 decodes in the calling process.
"""
from __future__ import annotations

import contextlib
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from .core import VideoError
from .reader import probe, read_clip, read_video

__all__ = ["ClipLoader", "ClipRequest", "ClipItem", "Failure", "default_workers",
           "decode_workers", "worker_loader"]

_DEFAULT_WORKERS: list[int] = []  # stack set by decode_workers()


def default_workers() -> int:
    """Decoding processes when none are given: `decode_workers(n)`'s n, else min(4, CPUs)."""
    if _DEFAULT_WORKERS:
        return _DEFAULT_WORKERS[-1]
    return min(4, os.cpu_count() or 1)


@contextlib.contextmanager
def decode_workers(n: int | None):
    """Within the block, loaders given no worker count use `n` (None: leave the default)."""
    if n is None:
        yield
        return
    if int(n) < 0:
        raise ValueError(f"workers must be >= 0, got {n}")
    _DEFAULT_WORKERS.append(int(n))
    try:
        yield
    finally:
        _DEFAULT_WORKERS.pop()


def worker_loader(dataset, workers: int | None = None, prefetch_factor: int = 2):
    """A DataLoader yielding `dataset[i]` in order (batch_size=None), decoded by `workers`
    processes (None: `default_workers()`; capped at len(dataset); 0: in this process)."""
    from torch.utils.data import DataLoader

    workers = default_workers() if workers is None else int(workers)
    workers = max(0, min(workers, len(dataset)))
    return DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                      prefetch_factor=prefetch_factor if workers else None)


@dataclass(frozen=True)
class ClipRequest:
    """One clip to read: `start` is an int or an object with `offset(total_frames, key)`;
    `key` (default: the path as given) is what that rule seeds its offset with.
    `num_frames=None`: the whole video (start and stride unused)."""
    path: str | Path
    start: object
    num_frames: int | None
    stride: int = 1
    key: str | None = None


class ClipItem(NamedTuple):
    index: int
    clip: torch.Tensor | None
    error: str | None


class Failure(NamedTuple):
    kind: str        # "short", "missing" or "corrupt"
    reason: str      # the reader's reason (VideoError.reason), or "too short (N frames < M)"
    exception: str   # "Type: message" as raised (for a short video: the rule's ShortVideoError)
    traceback: str   # formatted in the process that decoded


def _as_request(r) -> ClipRequest:
    if isinstance(r, ClipRequest):
        return r
    if isinstance(r, (tuple, list)) and len(r) in (3, 4, 5):
        return ClipRequest(*r)
    raise TypeError(f"a clip request is a ClipRequest or (path, start, num_frames[, stride[, key]]), got {r!r}")


def _short(req: ClipRequest, total: int, need: int, key: str) -> dict:
    """A too-short result; the exception text is the start rule's own when it raises one."""
    from ..clips import ShortVideoError

    reason = f"too short ({total} frames < {need})"
    exc = ShortVideoError(reason)
    if not isinstance(req.start, int):
        try:
            req.start.offset(total, key)
        except ShortVideoError as e:  # ClipSpec says which rule and threshold
            exc = e
    return {"error": reason, "frames": total,
            "failure": Failure("short", reason, f"{type(exc).__name__}: {exc}", "")}


def load_one(req: ClipRequest) -> dict:
    """Probe, pick the offset, decode the clip; errors become a reason string (never raised)."""
    path = Path(req.path)
    key = req.key if req.key is not None else str(req.path)
    try:
        if req.num_frames is None:
            clip = read_video(path)
            return {"clip": clip, "offset": 0, "frames": int(clip.shape[0])}
        span = (req.num_frames - 1) * req.stride + 1
        total = probe(path).frames
        if isinstance(req.start, int):
            need = req.start + span
        else:
            need = max(span, int(getattr(req.start, "threshold", span)))
        if total < need:
            return _short(req, total, need, key)
        if hasattr(req.start, "read"):  # a clip rule (ClipSpec) reads its own frames, every rule
            clip, start, total = req.start.read(path, key, total=total)
            return {"clip": clip.contiguous(), "offset": start, "frames": total}
        start = req.start if isinstance(req.start, int) else int(req.start.offset(total, key))
        clip = read_clip(path, start, req.num_frames, req.stride)
        return {"clip": clip.contiguous(), "offset": start, "frames": total}
    except VideoError as e:
        kind = "missing" if not path.exists() else "corrupt"
        return {"error": f"{kind}: {e.reason}",
                "failure": Failure(kind, e.reason, f"{type(e).__name__}: {e}", traceback.format_exc())}
    except Exception as e:  # a decoder crash on one file must not end the run
        reason = f"{type(e).__name__}: {e}"
        return {"error": f"corrupt: {reason}",
                "failure": Failure("corrupt", reason, reason, traceback.format_exc())}


class _Requests(torch.utils.data.Dataset):
    def __init__(self, requests):
        self.requests = requests

    def __len__(self):
        return len(self.requests)

    def __getitem__(self, i):
        out = load_one(self.requests[i])
        out["index"] = i
        return out


class ClipLoader:
    """Iterate `ClipItem`s for `requests` (ClipRequest or (path, start, num_frames[, stride[, key]])).

    `num_workers` worker processes decode ahead (`prefetch_factor` items each); 0 decodes in
    this process; None: `default_workers()`. After an item is yielded, `offsets[index]` and
    `frames[index]` hold the clip's first frame and the video's frame count (when known), and
    `failures[index]` the `Failure` of an item that has an error.
    """

    def __init__(self, requests, num_workers: int | None = None, prefetch_factor: int = 2):
        self.requests = [_as_request(r) for r in requests]
        self.num_workers = default_workers() if num_workers is None else int(num_workers)
        self.num_workers = max(0, min(self.num_workers, len(self.requests)))
        self.prefetch_factor = prefetch_factor
        self.offsets: dict[int, int] = {}
        self.frames: dict[int, int] = {}
        self.failures: dict[int, Failure] = {}

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self):
        if not self.requests:
            return
        loader = worker_loader(_Requests(self.requests), self.num_workers, self.prefetch_factor)
        it = iter(loader)
        try:
            for out in it:
                i = int(out["index"])
                if "frames" in out:
                    self.frames[i] = int(out["frames"])
                if "offset" in out:
                    self.offsets[i] = int(out["offset"])
                if "failure" in out:
                    self.failures[i] = Failure(*out["failure"])
                yield ClipItem(i, out.get("clip"), out.get("error"))
        finally:
            del it  # shuts the worker processes down when the caller stops early
