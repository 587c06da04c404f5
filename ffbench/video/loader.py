"""`ClipLoader`: clips of many files decoded in DataLoader worker processes, one result per file.

A corrupt or short file must not end an evaluation of thousands of videos, and must not vanish
either: every item comes back as `ClipItem(index, clip, error)` — `clip` a uint8
`[num_frames,H,W,3]` tensor and `error` None, or `clip` None and `error` a reason:
  "too short (N frames < M)"   the video has fewer frames than the clip rule needs (M is the
                               rule's `threshold` when it has one, else the clip's span);
  "missing: ..."               the file is gone;
  "corrupt: ..."               any decoding error, with the reader's reason.
Items arrive in request order whatever `num_workers` is (DataLoader keeps order), so "the first
N usable videos" is exact. Each worker probes the file for its frame count (`probe`), asks the
request's start rule for the offset, then decodes only the clip (`read_clip`).

A start rule is an int, or a picklable object with `offset(total_frames, key) -> int` (e.g.
`ffbench.data.realvideos.ClipSpec`, whose offset is seeded by `key`, so it does not depend on
worker count or order).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from .core import VideoError
from .reader import probe, read_clip

__all__ = ["ClipLoader", "ClipRequest", "ClipItem"]


@dataclass(frozen=True)
class ClipRequest:
    """One clip to read: `start` is an int or an object with `offset(total_frames, key)`;
    `key` (default: the path as given) is what that rule seeds its offset with."""
    path: str | Path
    start: object
    num_frames: int
    stride: int = 1
    key: str | None = None


class ClipItem(NamedTuple):
    index: int
    clip: torch.Tensor | None
    error: str | None


def _as_request(r) -> ClipRequest:
    if isinstance(r, ClipRequest):
        return r
    if isinstance(r, (tuple, list)) and len(r) in (3, 4, 5):
        return ClipRequest(*r)
    raise TypeError(f"a clip request is a ClipRequest or (path, start, num_frames[, stride[, key]]), got {r!r}")


def load_one(req: ClipRequest) -> dict:
    """Probe, pick the offset, decode the clip; errors become a reason string (never raised)."""
    path = Path(req.path)
    span = (req.num_frames - 1) * req.stride + 1
    try:
        total = probe(path).frames
        if isinstance(req.start, int):
            need = req.start + span
        else:
            need = max(span, int(getattr(req.start, "threshold", span)))
        if total < need:
            return {"error": f"too short ({total} frames < {need})", "frames": total}
        start = req.start if isinstance(req.start, int) else int(
            req.start.offset(total, req.key if req.key is not None else str(req.path)))
        clip = read_clip(path, start, req.num_frames, req.stride)
        return {"clip": clip, "offset": start, "frames": total}
    except VideoError as e:
        kind = "missing" if not path.exists() else "corrupt"
        return {"error": f"{kind}: {e.reason}"}
    except Exception as e:  # a decoder crash on one file must not end the run
        return {"error": f"corrupt: {type(e).__name__}: {e}"}


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
    this process. After an item is yielded, `offsets[index]` and `frames[index]` hold the clip's
    first frame and the video's frame count (when known), for manifests and reports.
    """

    def __init__(self, requests, num_workers: int = 0, prefetch_factor: int = 2):
        self.requests = [_as_request(r) for r in requests]
        self.num_workers = max(0, min(int(num_workers), len(self.requests)))
        self.prefetch_factor = prefetch_factor
        self.offsets: dict[int, int] = {}
        self.frames: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self):
        from torch.utils.data import DataLoader

        if not self.requests:
            return
        loader = DataLoader(_Requests(self.requests), batch_size=None, shuffle=False,
                            num_workers=self.num_workers,
                            prefetch_factor=self.prefetch_factor if self.num_workers else None)
        for out in loader:
            i = int(out["index"])
            if "frames" in out:
                self.frames[i] = int(out["frames"])
            if "offset" in out:
                self.offsets[i] = int(out["offset"])
            yield ClipItem(i, out.get("clip"), out.get("error"))
