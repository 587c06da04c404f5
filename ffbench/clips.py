"""The one clip rule: which frames of a video a protocol scores (torch-free).

Every entry point (`ffbench run`, `evaluate`, `stats compute`, the torchmetrics classes) cuts
clips through `ClipSpec`, so the same video, seed and protocol give the same frames whatever
command is used (docs/DESIGN.md, "One engine").

Rules (shared/reference/metrics.md §1a, §1b and the StyleGAN-V clip-sampling addendum):
  random-offset  StyleGAN-V real clips: n frames with stride s starting at
                 `random.randint(0, T - n*s + s - 1)` (Python `random`). StyleGAN-V leaves it
                 unseeded; we seed it per video with derive_seed(seed, "clip/" + key), key being
                 the video's relative path (or sample id), so the clip does not depend on worker
                 count, order or command, and the statistics cache stays valid.
                 With discard_short_videos, videos with fewer than n*s frames are discarded:
                 StyleGAN-V's threshold, stricter than the (n-1)*s+1 frames a clip needs.
  first          frames 0, s, 2s, ... (VideoGPT / TATS; generated clips; IS "first 16 frames").
  central        the n (strided) frames centred in the video (VideoPoet's "central 16 frames").
  uniform        n frames at linspace(0, T-1, n) truncated (pytorchvideo UniformTemporalSubsample;
                 frame FID/KID 16 per video); fewer than n frames: too short.
  all            every frame (frame FID/KID over all frames); `num_frames` is unused.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import ConfigError
from .seeding import derive_seed

__all__ = ["ClipSpec", "ShortVideoError", "CLIP_RULES"]

CLIP_RULES = ("random-offset", "first", "central", "uniform", "all")


class ShortVideoError(ConfigError):
    """A video has fewer frames than the protocol's clip rule keeps (it is skipped and named)."""


@dataclass(frozen=True)
class ClipSpec:
    """A clip rule: `rule`, `num_frames` taken every `stride`, videos shorter than `threshold`
    discarded, random offsets seeded by `seed`."""

    rule: str
    num_frames: int
    stride: int = 1
    min_frames: int | None = None   # videos with fewer frames are discarded (None: what the clip needs)
    seed: int = 0

    def __post_init__(self):
        if self.rule not in CLIP_RULES:
            raise ConfigError(f"clip rule must be one of {', '.join(CLIP_RULES)}, got {self.rule!r}")
        if self.num_frames < 1 or self.stride < 1:
            raise ConfigError(f"clip needs num_frames >= 1 and stride >= 1, got {self.num_frames}, {self.stride}")

    @property
    def span(self) -> int:
        """Frames a clip covers: (n-1)*s + 1."""
        return (self.num_frames - 1) * self.stride + 1

    @property
    def threshold(self) -> int:
        """Videos with fewer frames than this are discarded."""
        if self.rule == "all":
            return max(1, self.min_frames or 0)
        return max(self.span, self.min_frames or 0)

    def offset(self, total_frames: int, key: str) -> int:
        """First frame of the clip of a `total_frames`-frame video; ShortVideoError if too short."""
        if total_frames < self.threshold:
            raise ShortVideoError(f"too short: {total_frames} frames < {self.threshold} "
                                  f"({self.rule} clip of {self.num_frames} frames, stride {self.stride})")
        if self.rule == "first":
            return 0
        if self.rule == "central":
            return (total_frames - self.span) // 2
        n, s = self.num_frames, self.stride
        rng = random.Random(derive_seed(self.seed, f"clip/{key}"))
        return rng.randint(0, total_frames - n * s + s - 1)  # StyleGAN-V's bound (addendum)

    def indices(self, total_frames: int, key: str) -> list[int]:
        """Frame indices of the clip."""
        off = self.offset(total_frames, key)
        if self.rule == "all":
            return list(range(total_frames))
        if self.rule == "uniform":
            n, last = self.num_frames, total_frames - 1
            # torch.linspace(0, T-1, n).long(): float32 steps, truncated
            import numpy as np

            return [int(x) for x in np.linspace(0, last, n, dtype=np.float32).astype(np.int64)] \
                if n > 1 else [0]
        return list(range(off, off + self.span, self.stride))

    def cut(self, video, key: str):
        """(clip [n,H,W,3] of `video` [T,H,W,3], offset); ShortVideoError if too short."""
        off = self.offset(int(video.shape[0]), key)
        if self.rule in ("all", "uniform"):
            return video[self.indices(int(video.shape[0]), key)], off
        return video[off:off + self.span:self.stride], off

    def read(self, path, key: str, total: int | None = None):
        """(clip uint8 [n,H,W,3], offset, frames in the file) of a video file, decoding only the
        clip (`ffbench.video.read_clip`: seek to the keyframe before it, stop after its last
        frame; equal to decoding the whole file and `cut`); memory bounded by the clip.
        `total`: the file's frame count when the caller has probed it already."""
        from .video import probe, read_clip

        total = int(probe(path).frames) if total is None else int(total)
        off = self.offset(total, key)
        if self.rule in ("all", "uniform"):
            from .video import read_video

            return self.cut(read_video(path), key)[0], off, total
        return read_clip(path, off, self.num_frames, self.stride), off, total

    @classmethod
    def for_protocol(cls, protocol, role: str = "real", seed: int = 0) -> "ClipSpec":
        """The clip rule of an FVD protocol for `role` ("real" or "fake"), or of an IS protocol."""
        from . import protocols

        p = protocols.get(protocol) if isinstance(protocol, str) else protocol
        if isinstance(p, protocols.FVDProtocol):
            n, s = p.num_frames, p.frame_stride
            rule = p.real_clip if role == "real" else p.fake_clip
            return cls(rule, n, s, n * s if p.discard_short_videos else None, seed)
        if isinstance(p, protocols.ISProtocol):
            return cls(p.clip, p.num_frames, 1, None, seed)
        if isinstance(p, protocols.FrameProtocol):  # frame FID/KID
            return cls("all" if p.frames == "all" else "uniform", max(1, p.frames_per_video), 1, None, seed)
        if isinstance(p, protocols.KernelProtocol):  # KVD: its FVD protocol's clips; JEDi: its own
            if p.fvd_protocol:
                return cls.for_protocol(p.fvd(), role, seed)
            return cls(p.clip, p.num_frames, 1, None, seed)
        raise ConfigError(f"protocol {getattr(p, 'name', p)!r} has no video clip rule "
                          f"(use an FVD or IS protocol)")

    @classmethod
    def from_protocol(cls, protocol, seed: int = 0) -> "ClipSpec":
        """The real-clip rule of an FVD protocol, or the clip rule of an IS protocol."""
        return cls.for_protocol(protocol, "real", seed)
